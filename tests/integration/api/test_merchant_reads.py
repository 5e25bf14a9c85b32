"""The merchant's read routes through HTTP on PostgreSQL: balances, history, the statement in
three formats and the till's QRIS images, each read by the merchant's own key or the treasury,
and refused to everyone else (a matrix of every route and every caller)."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from escrow.calendar import from_us, month_of
from escrow.clock import SystemClock
from escrow.periods import period
from settlement.reports import MERCHANT_ASSETS
from settlement.reports.history import encode_cursor
from settlement.till import png_module_px, qris_matrix
from settlement.unit_of_work import unit_of_work
from tests.support.api import bearer, client, headers, operator, service
from tests.support.checkout_rows import (
    checkout_id,
    insert_checkout,
    insert_leg,
    open_checkout_accounts,
    sell_plate,
)
from tests.support.merchants import merchant_body
from tests.support.qr_images import decoded, modules_of, png_pixels

pytestmark = pytest.mark.integration
PAYLOAD = "00020101021226610016ID.CO.QRIS.WWW0118936009150000000001520458125303360540415000"


@dataclass(frozen=True, slots=True)
class World:
    """Two merchants with keys (Bu Tin has sold two plates; the other nothing), a gateway key,
    the treasury's token, and checkouts with and without a QRIS leg."""

    mine: str
    theirs: str
    keys: dict[str, str]
    month: str
    open_qris: str
    paid_qris: str
    no_qris: str


@pytest.fixture(scope="module")
def app(module_engine: Engine) -> Iterator[FastAPI]:
    with service(module_engine.url.render_as_string(hide_password=False)) as built:
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


def _key(http: httpx.Client, treasury: str, path: str, body: dict[str, Any]) -> str:
    reply = http.post(path, json=body, headers=headers(treasury))
    assert reply.status_code == 201, reply.text
    return bearer(reply.json()["token"])


@pytest.fixture(scope="module")
def world(app: FastAPI, http: httpx.Client, module_engine: Engine) -> World:
    treasury = operator(app)
    merchants = [merchant_body(), merchant_body()]
    for body in merchants:
        assert http.post("/v1/merchants", json=body, headers=headers(treasury)).status_code == 201
    mine, theirs = merchants[0]["id"], merchants[1]["id"]
    keys = {
        "treasury": treasury,
        "mine": _key(http, treasury, f"/v1/merchants/{mine}/keys", {"label": "till"}),
        "theirs": _key(http, treasury, f"/v1/merchants/{theirs}/keys", {"label": "till"}),
        "gateway": _key(
            http, treasury, "/v1/keys", {"role": "gateway", "owner": "midtrans", "label": "gw"}
        ),
    }
    with unit_of_work(module_engine, SystemClock()) as uow:
        open_checkout_accounts(uow, mine)
        sell_plate(uow, mine, discount=False)
        sell_plate(uow, mine, discount=True)
        now = uow.clock.now_us()
        checkouts = {}
        for name, status, leg_status, tender in (
            ("open_qris", "open", "open", "QRIS"),
            ("paid_qris", "paid", "paid", "QRIS"),
            ("no_qris", "open", "open", "PI"),
        ):
            cid = checkouts[name] = checkout_id()
            insert_checkout(uow.conn, cid, mine, price_units=1_500_000, status=status, at_us=now)
            insert_leg(
                uow.conn,
                cid,
                0,
                tender,
                "IDR" if tender == "QRIS" else "PI",
                idr_units=1_500_000,
                amount_units=1_500_000,
                status=leg_status,
                qris_payload=PAYLOAD if tender == "QRIS" else None,
            )
    return World(mine, theirs, keys, month_of(now), **checkouts)


def _get(
    http: httpx.Client, world: World, caller: str | None, path: str, **params: str
) -> httpx.Response:
    auth = {"Authorization": world.keys[caller]} if caller else {}
    return http.get(path, params=params, headers=auth)


def _problem(reply: httpx.Response, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == code


def test_a_merchant_reads_its_balances_posted_apart_from_held(
    http: httpx.Client, world: World
) -> None:
    reply = _get(http, world, "mine", "/v1/balances")
    assert reply.status_code == 200, reply.text
    assert reply.headers["cache-control"] == "no-store"
    answer = reply.json()
    assert answer["merchant_id"] == world.mine
    by_asset = {b["asset"]: b for b in answer["balances"]}
    assert list(by_asset) == ["IDR", "PI", "MSC", "MSCP"]
    assert by_asset["IDR"]["posted"] == {
        "amount": "16275.00",
        "asset": "IDR",
        "amount_units": 1_627_500,
    }
    assert by_asset["PI"]["posted"]["amount"] == "0.9850000"
    assert by_asset["PI"]["pending_incoming"]["amount_units"] == 0
    assert by_asset["MSC"]["available"] == {"amount": "0.00", "asset": "MSC", "amount_units": 0}
    treasury = _get(http, world, "treasury", "/v1/balances", merchant=world.mine)
    assert treasury.json() == answer


def test_history_pages_through_every_transfer(http: httpx.Client, world: World) -> None:
    seen, after = [], None
    while True:
        params = {"limit": "3"} | ({"after": after} if after else {})
        reply = _get(http, world, "mine", "/v1/history", **params)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        seen += page["items"]
        after = page["next_after"]
        if after is None:
            break
    codes = [(i["code"], i["direction"], i["effect"]) for i in seen]
    hold, release = ("checkout.hold", "in", "pending"), ("checkout.release", "in", "pending_posted")
    discount = [
        ("campaign.discount", "in", "pending"),
        ("campaign.discount", "in", "pending_posted"),
    ]
    assert codes == [hold, release, hold, release] * 2 + discount
    assert [i["timestamp_us"] for i in seen] == sorted(i["timestamp_us"] for i in seen)
    _problem(_get(http, world, "mine", "/v1/history", after="nope"), 422, "history_cursor_invalid")
    beyond = _get(
        http,
        world,
        "mine",
        "/v1/history",
        after=encode_cursor(dict.fromkeys(MERCHANT_ASSETS, seen[-1]["timestamp_us"])),
    )
    assert beyond.json()["items"] == []


def test_the_statement_in_json_csv_and_html(http: httpx.Client, world: World) -> None:
    path = f"/v1/statements/{world.month}"
    as_json = _get(http, world, "mine", path)
    assert as_json.status_code == 200, as_json.text
    answer = as_json.json()
    assert (answer["merchant"]["id"], answer["final"], answer["checkouts_released"]) == (
        world.mine,
        False,
        2,
    )
    assert answer["discount"]["amount"] == "1500.00"
    idr = answer["balances"][0]
    assert (idr["asset"], idr["opening"]["amount"], idr["closing"]["amount"]) == (
        "IDR",
        "0.00",
        "16275.00",
    )
    by_accept = http.get(path, headers={"Authorization": world.keys["mine"], "Accept": "text/csv"})
    by_format = _get(http, world, "mine", path, format="csv")
    for reply in (by_accept, by_format):
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "text/csv; charset=utf-8"
        assert (
            reply.headers["content-disposition"]
            == f'attachment; filename="laporan-{world.mine}-{world.month}.csv"'
        )
    rows = list(csv.reader(io.StringIO(by_accept.text, newline="")))
    assert rows[0] == ["Bagian", "Uraian", "Aset", "Jumlah", "Banyaknya", "Keterangan"]
    assert ["Saldo", "Saldo akhir", "IDR", "16275.00", "", ""] in rows
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = http.get(
        path,
        headers={"Authorization": world.keys["treasury"], "Accept": browser},
        params={"merchant": world.mine},
    )
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "Laporan Transaksi Bulanan" in page.text
    assert "Rp 16.275" in page.text
    again = _get(http, world, "mine", path, format="json").json()
    assert again | {"as_of": answer["as_of"]} == answer


def test_a_bad_or_future_month_is_refused(http: httpx.Client, world: World) -> None:
    for month in ("2026-13", "March", "2026-3"):
        _problem(
            _get(http, world, "mine", f"/v1/statements/{month}"), 422, "statement_month_invalid"
        )
    following = month_of(period(world.month).ends_at_us + 1)
    _problem(
        _get(http, world, "mine", f"/v1/statements/{following}"), 409, "statement_month_not_started"
    )


def test_the_till_shows_the_open_qris_leg(http: httpx.Client, world: World) -> None:
    svg = _get(http, world, "mine", f"/v1/checkouts/{world.open_qris}/qris.svg")
    assert svg.status_code == 200, svg.text
    assert svg.headers["content-type"] == "image/svg+xml"
    assert ET.fromstring(svg.content).tag == "{http://www.w3.org/2000/svg}svg"
    png = _get(http, world, "treasury", f"/v1/checkouts/{world.open_qris}/qris.png")
    assert png.headers["content-type"] == "image/png"
    pixels = png_pixels(png.content)
    assert modules_of(pixels, png_module_px) == qris_matrix(PAYLOAD)
    assert decoded(pixels) == [PAYLOAD]


def test_the_till_refuses_what_it_cannot_show(http: httpx.Client, world: World) -> None:
    for kind in ("svg", "png"):
        _problem(
            _get(http, world, "mine", f"/v1/checkouts/{world.no_qris}/qris.{kind}"),
            404,
            "checkout_no_qris_leg",
        )
        _problem(
            _get(http, world, "mine", f"/v1/checkouts/{world.paid_qris}/qris.{kind}"),
            409,
            "till_qris_leg_not_open",
        )
        _problem(
            _get(http, world, "mine", f"/v1/checkouts/{checkout_id()}/qris.{kind}"),
            404,
            "till_checkout_unknown",
        )


def _routes(world: World) -> dict[str, str]:
    return {
        "balances": "/v1/balances",
        "history": "/v1/history",
        "statement": f"/v1/statements/{world.month}",
        "svg": f"/v1/checkouts/{world.open_qris}/qris.svg",
        "png": f"/v1/checkouts/{world.open_qris}/qris.png",
    }


MERCHANT_SCOPED = ("balances", "history", "statement")
CALLERS: dict[tuple[str | None, str], tuple[int, str]] = {
    # (caller, how it names the merchant) -> (status, code) for every route: the same for all
    (None, "none"): (401, "unauthenticated"),
    ("gateway", "none"): (403, "forbidden"),
    ("gateway", "mine"): (403, "forbidden"),
    ("theirs", "none"): (200, ""),  # its own (empty) merchant; the till: another's checkout
    ("theirs", "mine"): (403, "forbidden"),
    ("mine", "none"): (200, ""),
    ("mine", "mine"): (200, ""),
    ("mine", "theirs"): (403, "forbidden"),
    ("treasury", "none"): (422, "report_merchant_required"),
    ("treasury", "mine"): (200, ""),
    ("treasury", "unknown"): (404, "merchant_unknown"),
}


@pytest.mark.parametrize("route", ["balances", "history", "statement", "svg", "png"])
@pytest.mark.parametrize(("caller", "names"), list(CALLERS))
def test_who_may_read_what(
    http: httpx.Client, world: World, route: str, caller: str | None, names: str
) -> None:
    status, code = CALLERS[(caller, names)]
    merchant = {"mine": world.mine, "theirs": world.theirs, "unknown": "UM404nobody"}.get(names)
    if route not in MERCHANT_SCOPED:
        if names != "none":
            return  # the till takes the merchant from the checkout, never from the query
        status, code = {"theirs": (403, "forbidden"), "treasury": (200, "")}.get(
            caller or "", (status, code)
        )
    params = {"merchant": merchant} if merchant and route in MERCHANT_SCOPED else {}
    reply = _get(http, world, caller, _routes(world)[route], **params)
    if code:
        _problem(reply, status, code)
    else:
        assert reply.status_code == status, reply.text
        assert reply.headers["cache-control"] == "no-store"


def test_the_statement_of_a_month_is_the_months_own(http: httpx.Client, world: World) -> None:
    """Bu Tin's earlier month (before the module's sales) has nothing but zeros."""
    start = period(world.month).starts_at_us
    earlier = month_of(start - 1)
    answer = _get(http, world, "mine", f"/v1/statements/{earlier}").json()
    assert answer["final"] is True
    assert answer["sales"] == []
    assert [b["closing"]["amount_units"] for b in answer["balances"]] == [0, 0, 0, 0]
    assert from_us(start).isoformat() == answer["ends_at"]
