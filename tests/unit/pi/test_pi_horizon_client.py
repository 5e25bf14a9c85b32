"""The Horizon client against recorded Pi Testnet / documented Horizon JSON."""

from typing import Any

import httpx
import pytest

from chain.pi import errors
from tests.unit.pi.conftest import raw

TXID = "5408e032890445b0bcb96913e37f326dc2c5573ff7221d3402ed450b324a4a3c"
ADDRESS = "GDNDEI3B7PZCHUBXEFDE6G2F2J2DWEXFLDTBCYCGH7O2ECA36A4QTAIO"


def router(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    files = {
        f"/transactions/{TXID}": "horizon/transaction_5408e032.json",
        f"/transactions/{TXID}/operations": "horizon/transaction_5408e032_operations.json",
        f"/accounts/{ADDRESS}": "horizon/account.json",
        "/fee_stats": "horizon/fee_stats.json",
    }
    if path in files:
        return httpx.Response(200, content=raw(files[path]))
    return httpx.Response(404, content=raw("horizon/not_found.json"))


def test_transaction_and_operations(horizon_for: Any) -> None:
    client, rec = horizon_for(router)
    tx = client.transaction(TXID)
    assert tx.record["hash"] == TXID
    assert tx.operations[0]["type"] == "payment"
    assert rec.requests[1].url.params["limit"] == "200"


def test_not_found(horizon_for: Any) -> None:
    client, _ = horizon_for(router)
    with pytest.raises(errors.HorizonNotFoundError):
        client.transaction("0" * 64)


def test_account_sequence_and_balance(horizon_for: Any) -> None:
    client, _ = horizon_for(router)
    account = client.account(ADDRESS)
    assert account.sequence == 6039144924971026
    assert account.balance_units == 807_900_000


def test_base_fee_from_fee_stats(horizon_for: Any) -> None:
    client, _ = horizon_for(router)
    assert client.base_fee() == 100_000


def test_absurd_base_fee_refused(horizon_for: Any) -> None:
    client, _ = horizon_for(
        lambda r: httpx.Response(200, json={"last_ledger_base_fee": "99999999999"})
    )
    with pytest.raises(errors.PiResponseError):
        client.base_fee()


def test_submit_rejected_carries_result_codes(horizon_for: Any) -> None:
    client, rec = horizon_for(
        lambda r: httpx.Response(400, content=raw("horizon/submit_transaction_failed.json"))
    )
    with pytest.raises(errors.TxSubmitRejectedError) as info:
        client.submit("AAAA")
    assert info.value.tx_code == "tx_bad_seq"
    assert rec.requests[0].content == b"tx=AAAA"


def test_submit_accepted(horizon_for: Any) -> None:
    client, _ = horizon_for(
        lambda r: httpx.Response(200, content=raw("horizon/transaction_5408e032.json"))
    )
    result = client.submit("AAAA")
    assert result.tx_hash == TXID
    assert result.successful
    assert result.ledger == 8474167


def test_submit_504_is_transient_after_retries(horizon_for: Any) -> None:
    client, rec = horizon_for(lambda r: httpx.Response(504, content=b"<html>timeout</html>"))
    with pytest.raises(errors.PiTransientError):
        client.submit("AAAA")
    assert len(rec.requests) == 3
