"""The Bu Tin story over HTTP on PostgreSQL, as the stall, the Pioneer, the gateway and the
treasury each see it.

Pecel Bu Tin (UM001 of the pilot) prices a plate at Rp 15.000, half Pi and half QRIS. The
Pioneer pays the Pi leg from the Pi app (the Pi sandbox, the service's own Pi routes), the QRIS
leg is paid and notified by Midtrans (a signed notification, confirmed with Midtrans' status
sandbox), Bu Tin confirms hand-over with her merchant key, and reads her balances back with it:
the shares and the Pioneer's cashback are posted, one balanced batch.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from api.app import create_app
from chain.pi.sandbox.inprocess import inprocess_client
from chain.qris.gateways.midtrans_sandbox import MidtransSandbox
from escrow.clock import SystemClock
from escrow.ledger import Ledger
from settlement import chart, parameters, points
from settlement.bootstrap import Container, build_container
from settlement.config import Settings
from settlement.shares.rules import parse_rule, set_rule
from settlement.unit_of_work import unit_of_work
from tests.support.governance import govern_http
from tests.support.merchants import fresh_nmid, static_qris
from tests.support.shared_fixtures import shared_fixture

pytestmark = pytest.mark.integration
PILOT = shared_fixture("pilot.json")
INCENTIVES = shared_fixture("incentives.json")
SETTINGS = Settings()
OPERATOR = {"Authorization": f"Bearer {SETTINGS.operator_token.get_secret_value()}"}
MIDTRANS_KEY = SETTINGS.qris_midtrans_server_key.get_secret_value()
WIB = timedelta(hours=7)


@pytest.fixture
def container(module_database_url: str) -> Iterator[Container]:
    built = build_container(Settings(), module_database_url)
    yield built
    built.engine.dispose()


@pytest.fixture
def client(container: Container) -> Iterator[httpx.Client]:
    with inprocess_client(create_app(container), "http://service.test") as http:
        yield http


def key(headers: dict[str, str]) -> dict[str, str]:
    return headers | {"Idempotency-Key": uuid.uuid4().hex}


def bu_tin() -> dict[str, Any]:
    return next(
        m for m in PILOT["merchants"] if m["umkm_id"] == PILOT["split_tender_example"]["merchant"]
    )


def onboard(client: httpx.Client) -> tuple[str, dict[str, str]]:
    """The treasury onboards Bu Tin (a fresh id: tests share the database) and issues her key."""
    pilot = bu_tin()
    nmid = fresh_nmid()
    merchant_id = f"{pilot['umkm_id']}-{uuid.uuid4().hex[:8]}"
    body = {
        "id": merchant_id,
        "name": pilot["name"],
        "kelurahan": pilot["kelurahan"],
        "rt": pilot["rt"],
        "criteria": pilot["criteria"],
        "nmid": nmid,
        "static_qris": static_qris(nmid, pilot["name"]),
        "tenders": ["PI", "QRIS"],
    }
    onboarded = client.post("/v1/merchants", json=body, headers=key(OPERATOR))
    assert onboarded.status_code == 201, onboarded.text
    issued = client.post(
        f"/v1/merchants/{merchant_id}/keys", json={"label": "till"}, headers=key(OPERATOR)
    )
    assert issued.status_code == 201, issued.text
    return merchant_id, {"Authorization": f"Bearer {issued.json()['token']}"}


def treasury_terms(engine: Engine, merchant_id: str) -> None:
    """The seed's cashback (10%, capped) and point value, and a funded points budget."""
    cashback = INCENTIVES["first_month_cashback"]
    rule = parse_rule(
        merchant_id,
        [
            {"to": "platform_fee", "percent_bp": 100},
            {"to": "community_fund", "percent_bp": 50},
            {"to": "merchant", "remaining": True},
        ],
        cashback["pct"] * 100,
        cashback["cap_idr"] * 100,
    )
    with unit_of_work(engine, SystemClock()) as uow:
        set_rule(uow, rule, "treasury:test")
        parameters.set_(uow, "point_value_idr", f"{INCENTIVES['point_value_idr']}.00", "treasury")
        points.fund_budget(uow, 1000, "treasury:test", f"budget-{merchant_id}")


def pioneer_pays_pi(client: httpx.Client, leg: dict[str, Any]) -> dict[str, str]:
    pioneer = client.post(
        "/pi-sandbox/sandbox/pioneers", json={"username": "pelanggan", "balance": "100"}
    ).json()
    params = leg["pi_payment"]
    created = client.post(
        f"/pi-sandbox/sandbox/pioneers/{pioneer['uid']}/payments",
        json={"amount": params["amount"], "memo": params["memo"], "metadata": params["metadata"]},
    )
    created.raise_for_status()
    pid = created.json()["identifier"]
    bearer = {"Authorization": f"Bearer {pioneer['access_token']}"}
    assert client.post(f"/v1/pi/payments/{pid}/approve", headers=bearer).status_code == 200
    txid = client.post(f"/pi-sandbox/sandbox/payments/{pid}/pay").json()["txid"]
    done = client.post(f"/v1/pi/payments/{pid}/complete", json={"txid": txid}, headers=bearer)
    assert done.status_code == 200, done.text
    return dict(pioneer)


def midtrans_notifies(
    client: httpx.Client, container: Container, leg: dict[str, Any]
) -> httpx.Response:
    order_id, gross = leg["reference"], leg["amount"]["amount"]
    sandbox = container.qris_midtrans_sandbox
    assert isinstance(sandbox, MidtransSandbox)
    tx_id = f"tx-{uuid.uuid4().hex[:12]}"
    sandbox.record(
        order_id, transaction_id=tx_id, transaction_status="settlement", gross_amount=gross
    )
    paid_at = (datetime.now(UTC) + WIB).strftime("%Y-%m-%d %H:%M:%S")
    document = {
        "transaction_time": paid_at,
        "transaction_status": "settlement",
        "transaction_id": tx_id,
        "status_code": "200",
        "order_id": order_id,
        "gross_amount": gross,
        "payment_type": "qris",
    }
    material = order_id + "200" + gross + MIDTRANS_KEY
    document["signature_key"] = hashlib.sha512(material.encode()).hexdigest()
    return client.post("/v1/qris/notifications/midtrans", content=json.dumps(document))


def test_bu_tin_half_pi_half_qris_over_http(client: httpx.Client, container: Container) -> None:
    merchant_id, merchant = onboard(client)
    treasury_terms(container.engine, merchant_id)
    example = PILOT["split_tender_example"]
    price = f"{example['price_idr']}.00"
    body = {
        "price": {"amount": price, "asset": "IDR"},
        "merchant_reference": "meja-1",
        "tenders": [
            {"tender": "PI", "share_bp": example["pi_share_pct"] * 100},
            {"tender": "QRIS", "share_bp": example["qris_share_pct"] * 100},
        ],
    }
    created = client.post("/v1/checkouts", json=body, headers=key(merchant))
    assert created.status_code == 201, created.text
    checkout = created.json()
    pi_leg, qris_leg = checkout["legs"]
    assert pi_leg["value"] == {"amount": "7500.00", "asset": "IDR", "amount_units": 750_000}
    assert pi_leg["amount"]["asset"] == "PI"
    assert pi_leg["quote"]["price"]["asset"] == "IDR"
    assert qris_leg["qris"]["payload"].startswith("000201010212")  # dynamic
    assert qris_leg["reference"] in qris_leg["qris"]["payload"]

    pioneer = pioneer_pays_pi(client, pi_leg)
    notified = midtrans_notifies(client, container, qris_leg)
    assert notified.status_code == 200, notified.text
    paid = client.get(f"/v1/checkouts/{checkout['id']}", headers=merchant).json()
    assert paid["status"] == "paid"

    handover_key = key(merchant)
    released = client.post(f"/v1/checkouts/{checkout['id']}/handover", headers=handover_key)
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "released"
    replay = client.post(f"/v1/checkouts/{checkout['id']}/handover", headers=handover_key)
    assert replay.json() == released.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    twice = client.post(f"/v1/checkouts/{checkout['id']}/handover", headers=key(merchant))
    assert twice.status_code == 409
    assert twice.json()["code"] == "checkout_already_released"

    pi_units = pi_leg["amount"]["amount_units"]
    with container.engine.connect() as conn:
        ledger = Ledger(conn)
        assert ledger.balance(chart.merchant_balance(merchant_id, "PI").code).posted == (
            pi_units - pi_units * 150 // 10_000
        )
        assert ledger.balance(chart.merchant_balance(merchant_id, "IDR").code).posted == (
            750_000 - 7_500 - 3_750
        )
        # 10% of Rp 15.000 is Rp 1.500: three points of Rp 500
        assert ledger.balance(chart.pioneer_balance(pioneer["uid"], "MSCP").code).posted == 3
        for line in ledger.trial_balance():
            assert line.debits_posted == line.credits_posted
    balances = client.get("/v1/balances", headers=merchant)
    assert balances.status_code == 200, balances.text
    shown = {row["asset"]: row for row in balances.json()["balances"]}
    assert shown["IDR"]["posted"]["amount"] == "7387.50"
    other = client.get(f"/v1/checkouts/{checkout['id']}", headers=onboard(client)[1])
    assert other.status_code == 403  # another merchant's key does not see it
    assert other.json()["code"] == "forbidden"


def test_the_pioneer_disputes_and_the_treasury_refunds(
    client: httpx.Client, container: Container
) -> None:
    _, merchant = onboard(client)
    body = {
        "price": {"amount": "15000.00", "asset": "IDR"},
        "tenders": [{"tender": "PI", "share_bp": 10_000}],
    }
    checkout = client.post("/v1/checkouts", json=body, headers=key(merchant)).json()
    pioneer = pioneer_pays_pi(client, checkout["legs"][0])
    bearer = {"Authorization": f"Bearer {pioneer['access_token']}"}
    url = f"/v1/checkouts/{checkout['id']}"

    stranger = client.post(
        "/pi-sandbox/sandbox/pioneers", json={"username": "orang-lain", "balance": "1"}
    ).json()
    refused = client.post(
        f"{url}/dispute", headers=key({"Authorization": f"Bearer {stranger['access_token']}"})
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "checkout_not_payer"
    disputed = client.post(f"{url}/dispute", headers=key(bearer))
    assert disputed.status_code == 200, disputed.text
    assert disputed.json()["status"] == "disputed"
    frozen = client.post(f"{url}/handover", headers=key(merchant))
    assert frozen.json()["code"] == "checkout_disputed"
    not_treasury = client.post(f"{url}/decision", json={"outcome": "refund"}, headers=key(merchant))
    assert not_treasury.status_code == 403
    decided = client.post(f"{url}/decision", json={"outcome": "refund"}, headers=key(OPERATOR))
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "refunded"
    with container.engine.connect() as conn:
        owed = Ledger(conn).balance(chart.pioneer_pi(pioneer["uid"]).code).posted
    assert owed == checkout["legs"][0]["amount"]["amount_units"]
    steps = client.get(f"{url}/events", headers=merchant).json()["items"]
    assert [(s["kind"], s["actor"].split(":")[0]) for s in steps][-2:] == [
        ("disputed", "pioneer"),
        ("refunded", "treasury"),
    ]


def test_a_dispute_above_the_one_officer_limit_is_decided_by_a_2_of_3_proposal(
    client: httpx.Client, container: Container
) -> None:
    _, merchant = onboard(client)
    body = {
        "price": {"amount": "15000.00", "asset": "IDR"},
        "tenders": [{"tender": "PI", "share_bp": 10_000}],
    }
    checkout = client.post("/v1/checkouts", json=body, headers=key(merchant)).json()
    pioneer = pioneer_pays_pi(client, checkout["legs"][0])
    url = f"/v1/checkouts/{checkout['id']}"
    bearer = {"Authorization": f"Bearer {pioneer['access_token']}"}
    assert client.post(f"{url}/dispute", headers=key(bearer)).status_code == 200
    with unit_of_work(container.engine, SystemClock()) as uow:
        parameters.set_(uow, parameters.DISPUTE_ONE_OFFICER_LIMIT_IDR, "10000.00", "test")
    try:
        alone = client.post(f"{url}/decision", json={"outcome": "refund"}, headers=key(OPERATOR))
        assert (alone.status_code, alone.json()["code"]) == (409, "governance_required")
        params = {"checkout_id": checkout["id"], "outcome": "refund"}
        staff = OPERATOR["Authorization"]
        done = govern_http(client, container.engine, staff, "checkout.dispute_decide", params)
        assert done.status_code == 200, done.text
        assert done.json()["result"] == {"checkout_id": checkout["id"], "status": "refunded"}
    finally:
        with unit_of_work(container.engine, SystemClock()) as uow:
            uow.conn.exec_driver_sql(
                "DELETE FROM treasury_parameters WHERE name = 'dispute_one_officer_limit_idr'"
            )


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("1e4", "checkout_amount_invalid"),
        ("15000", "checkout_amount_invalid"),
        ("015000.00", "checkout_amount_invalid"),
        ("15000.0", "checkout_amount_invalid"),
        ("-1.00", "checkout_amount_invalid"),
        ("0.00", "amount_out_of_range"),
    ],
)
def test_a_price_is_a_decimal_string_at_the_assets_scale(
    client: httpx.Client, container: Container, amount: str, code: str
) -> None:
    _, merchant = onboard(client)
    body = {"price": {"amount": amount, "asset": "IDR"}, "tenders": [{"tender": "QRIS"}]}
    refused = client.post("/v1/checkouts", json=body, headers=key(merchant))
    assert (refused.status_code, refused.json()["code"]) == (422, code)
    numbers = client.post(
        "/v1/checkouts",
        headers=key(merchant),
        json=body | {"price": {"amount": 15000.0, "asset": "IDR"}},
    )
    assert numbers.status_code == 422
    listed = client.get("/v1/checkouts", headers=merchant).json()["items"]
    assert listed == []  # nothing was opened
