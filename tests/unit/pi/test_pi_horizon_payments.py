"""`/accounts/{id}/payments` through the Horizon client, against a crafted Horizon response."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain.pi import errors
from chain.pi.horizon import PaymentsPage, parse_payments_page
from tests.unit.pi.conftest import load, raw

APP = "GCOR3TJAYA4JDV6GJSREO4TRDUW32IA7BQN3IMY553HQ26NL77W7TEAM"
PAYER = "GDNDEI3B7PZCHUBXEFDE6G2F2J2DWEXFLDTBCYCGH7O2ECA36A4QTAIO"
U2A_TXID = "b94a6d8ddcea7358e2b7f6bf4e6cf7d9891bc743cd100f6bc4e90b308a89a7eb"


def serve(request: httpx.Request) -> httpx.Response:
    if request.url.path == f"/accounts/{APP}/payments":
        return httpx.Response(200, content=raw("horizon/account_payments.json"))
    return httpx.Response(404, content=raw("horizon/not_found.json"))


def page() -> dict[str, Any]:
    body = load("horizon/account_payments.json")
    assert isinstance(body, dict)
    return body


def test_each_kind_of_payment_is_read_with_its_memo(horizon_for: Any) -> None:
    client, rec = horizon_for(serve)
    records = client.payments_for_account(APP, "36396261537124353", 50).records
    params = rec.requests[0].url.params
    assert (params["order"], params["limit"], params["join"], params["cursor"]) == (
        "asc",
        "50",
        "transactions",
        "36396261537124353",
    )
    opening, u2a, a2u, path, merge = records
    assert (opening.kind, opening.from_address, opening.to_address) == (
        "create_account",
        PAYER,
        APP,
    )
    assert (opening.amount_units, opening.asset_type, opening.memo) == (200_000_000, "native", None)
    assert (u2a.paging_token, u2a.txid, u2a.amount_units) == (
        "36396270127058945",
        U2A_TXID,
        31_415_926,
    )
    assert (u2a.memo, u2a.successful) == ("aBcD1234efGH5678ijKL9012mnOP", True)
    assert u2a.created_at == datetime(2022, 7, 31, 13, 57, 29, tzinfo=UTC)
    assert (a2u.from_address, a2u.to_address) == (APP, PAYER)
    assert (path.asset_type, path.amount_units, path.memo) == ("credit_alphanum4", 72_500_000, None)
    assert (merge.to_address, merge.amount_units, merge.memo) == (APP, None, None)


def test_the_first_page_sends_no_cursor(horizon_for: Any) -> None:
    client, rec = horizon_for(serve)
    client.payments_for_account(APP, "")
    assert "cursor" not in rec.requests[0].url.params
    assert rec.requests[0].url.params["limit"] == "200"


@pytest.mark.parametrize(
    ("cursor", "limit"), [("now", 10), ("1&limit=999", 10), ("12", 0), ("12", 201)]
)
def test_a_bad_cursor_or_limit_is_refused_before_any_request(
    horizon_for: Any, cursor: str, limit: int
) -> None:
    client, rec = horizon_for(serve)
    with pytest.raises(errors.PiInputError):
        client.payments_for_account(APP, cursor, limit)
    assert rec.requests == []


def test_an_unknown_account_is_not_found(horizon_for: Any) -> None:
    client, _ = horizon_for(serve)
    with pytest.raises(errors.HorizonNotFoundError):
        client.payments_for_account(PAYER, "")


def _broken(mutate: str) -> dict[str, Any]:
    body = page()
    record = body["_embedded"]["records"][1]
    if mutate == "no_join":
        del record["transaction"]
    elif mutate == "other_tx":
        record["transaction"]["hash"] = "0" * 64
    elif mutate == "long_memo":
        record["transaction"]["memo"] = "m" * 29
    elif mutate == "bad_token":
        record["paging_token"] = "1; DROP"
    elif mutate == "bad_hash":
        record["transaction_hash"] = "XYZ"
    elif mutate == "no_amount":
        del record["amount"]
    elif mutate == "float_amount":
        record["amount"] = Decimal("0.00000001")
    elif mutate == "naive_time":
        record["created_at"] = "2022-07-31T13:57:29"
    elif mutate == "no_records":
        del body["_embedded"]
    return body


@pytest.mark.parametrize(
    "mutate",
    [
        "no_join",
        "other_tx",
        "bad_token",
        "bad_hash",
        "no_amount",
        "float_amount",
        "naive_time",
        "no_records",
    ],
)
def test_a_record_that_cannot_be_trusted_refuses_the_page(mutate: str) -> None:
    with pytest.raises(errors.PiResponseError):
        parse_payments_page(_broken(mutate))


@pytest.mark.parametrize("memo", ["m" * 29, "\ufffd" * 28, 42])
def test_a_text_memo_that_cannot_be_ours_is_no_memo_and_the_page_still_reads(memo: object) -> None:
    """Anyone can send the wallet Pi with 28 bytes that are not UTF-8; Horizon shows each as
    U+FFFD (84 bytes). Refusing the page for it would stop the wallet watch for good."""
    body = _broken("long_memo")
    body["_embedded"]["records"][0]["transaction"]["memo"] = memo
    parsed = parse_payments_page(body)
    assert parsed.records[0].memo is None
    assert len(parsed.records) == len(page()["_embedded"]["records"])


def test_an_empty_page_is_the_end() -> None:
    assert parse_payments_page({"_embedded": {"records": []}}) == PaymentsPage(records=())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)


@given(json_values)
def test_any_json_page_parses_or_is_refused_as_a_bad_response(value: object) -> None:
    try:
        parsed = parse_payments_page({"_embedded": {"records": value}})
    except errors.PiResponseError:
        return
    assert isinstance(value, list)
    assert len(parsed.records) == len(value)


@given(
    token=st.integers(min_value=1, max_value=10**19),
    units=st.integers(min_value=1, max_value=2**63 - 1),
    memo=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", max_size=28),
)
def test_a_payment_record_reads_back_what_it_states(token: int, units: int, memo: str) -> None:
    body = page()
    record = copy.deepcopy(body["_embedded"]["records"][1])
    record["paging_token"] = str(token)
    record["amount"] = str(Decimal(units).scaleb(-7))
    record["transaction"]["memo"] = memo
    parsed = parse_payments_page(json.loads(json.dumps({"_embedded": {"records": [record]}})))
    (payment,) = parsed.records
    assert (payment.paging_token, payment.amount_units, payment.memo) == (
        str(token),
        units,
        memo or None,
    )
