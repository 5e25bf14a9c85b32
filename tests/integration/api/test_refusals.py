"""Every UNIQUE / CHECK constraint of the Pi and QRIS tables, driven through the HTTP routes.

For each constraint one request sequence that would violate it: the answer is never a 5xx, a
refusal is problem+json with its stable code, and nothing was posted to the ledger or queued in
the outbox. The use case checks the condition before the database would refuse; these tests keep
it so. Constraints no HTTP route can reach (expectations are created by the CLI and the
processes; payouts, custody deposits, report lines and the MDR schedule have no route) are
exercised by the rails' own integration tests.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, text
from stellar_sdk import Keypair

from api.app import create_app
from chain.pi.horizon import HorizonClient
from chain.pi.platform import PiPlatformClient
from chain.pi.sandbox.app import Sandbox, build_app, make_sandbox
from chain.pi.sandbox.client import SandboxDriver, SandboxPioneer
from chain.pi.sandbox.inprocess import inprocess_client
from chain.pi.transport import HttpLimits, JsonTransport
from chain.qris.gateways.midtrans_sandbox import MidtransSandbox
from escrow.clock import SystemClock
from settlement.bootstrap import build_container
from settlement.config import Settings
from settlement.pi.deps import PiDeps
from settlement.pi.expectations import Expectation, create_expectation, metadata_for
from settlement.qris.expectations import create_expectation as create_qris_expectation
from settlement.unit_of_work import bind
from tests.support.uow import at, us

pytestmark = pytest.mark.integration
PI_BASE = "http://pi-sandbox.test"
PI_API_KEY = "test-server-key"
MIDTRANS_KEY = Settings().qris_midtrans_server_key.get_secret_value()
MIDTRANS_URL = "/v1/qris/notifications/midtrans"
PROBLEM = "application/problem+json"


@dataclass
class World:
    http: httpx.Client
    engine: Engine
    sandbox: Sandbox
    driver: SandboxDriver
    midtrans: MidtransSandbox

    def counts(self) -> tuple[int, int]:
        """Ledger transfers and outbox rows: a refusal leaves both as they were."""
        with self.engine.connect() as conn:
            transfers = conn.execute(text("SELECT count(*) FROM transfers")).scalar_one()
            outbox = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
        return int(transfers), int(outbox)

    def expect_pi(self, amount_units: int = 10_000_000) -> Expectation:
        with self.engine.begin() as conn:
            return create_expectation(
                bind(conn, SystemClock()),
                purpose="test",
                amount_units=amount_units,
                credit_account=f"pioneer:{uuid.uuid4().hex[:12]}:PI",
            )

    def pioneer(self) -> SandboxPioneer:
        return self.driver.add_pioneer("ani", "100")

    def pay_for(self, pioneer: SandboxPioneer, exp: Expectation, amount: str = "1") -> str:
        return self.driver.create_payment(pioneer, amount, "test", metadata_for(exp))

    def rename(self, pid: str, exp: Expectation) -> None:
        """Pi now reports metadata naming another expectation than the one first approved."""
        self.sandbox.platform.payments[pid]["metadata"] = metadata_for(exp)


@pytest.fixture
def world(module_engine: Engine) -> Iterator[World]:
    """The service on this module's own database: its Pi payments commit to the custody account,
    which tests elsewhere read the totals of."""
    database_url = module_engine.url.render_as_string(hide_password=False)
    built = build_container(Settings(), database_url)
    wallet = Keypair.random()
    sandbox = make_sandbox(api_key=PI_API_KEY, app_address=wallet.public_key, base_url=PI_BASE)
    with inprocess_client(build_app(sandbox), PI_BASE) as pi_http:
        transport = JsonTransport(pi_http, HttpLimits(attempts_max=2), sleep=lambda _s: None)
        container = replace(
            built,
            pi=PiDeps(
                platform=PiPlatformClient(transport, PI_BASE, PI_API_KEY),
                chain=HorizonClient(transport, PI_BASE),
                network="Pi Testnet",
                app_address=wallet.public_key,
                signer=wallet,
                a2u_expiry_margin_s=built.settings.pi_a2u_expiry_margin_s,
            ),
        )
        app = create_app(container)
        assert container.qris_midtrans_sandbox is not None
        with inprocess_client(app, "http://service.test", raise_app_exceptions=False) as http:
            yield World(
                http,
                container.engine,
                sandbox,
                SandboxDriver(pi_http, PI_BASE),
                container.qris_midtrans_sandbox,
            )
    container.engine.dispose()


def bearer(pioneer: SandboxPioneer) -> dict[str, str]:
    return {"Authorization": f"Bearer {pioneer.access_token}"}


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code


def approve(world: World, pioneer: SandboxPioneer, pid: str) -> httpx.Response:
    return world.http.post(f"/v1/pi/payments/{pid}/approve", headers=bearer(pioneer))


def complete(world: World, pioneer: SandboxPioneer, pid: str, txid: str) -> httpx.Response:
    return world.http.post(
        f"/v1/pi/payments/{pid}/complete", json={"txid": txid}, headers=bearer(pioneer)
    )


# --- pi_expectations.payment_id UNIQUE, pi_payments PRIMARY KEY (payment_id) -------------------


def test_approve_naming_another_expectation_than_the_bound_one(world: World) -> None:
    pioneer, first, other = world.pioneer(), world.expect_pi(), world.expect_pi()
    pid = world.pay_for(pioneer, first)
    assert approve(world, pioneer, pid).status_code == 200
    world.rename(pid, other)
    before = world.counts()
    refused(approve(world, pioneer, pid), 409, "pi_expectation_mismatch")
    assert world.counts() == before
    with world.engine.connect() as conn:
        bound = conn.execute(
            text("SELECT reference, status, payment_id FROM pi_expectations WHERE id = :id"),
            {"id": other.id},
        ).one()
    assert tuple(bound) == (other.reference, "open", None)


# --- pi_expectations CHECK ((status = 'open') = (payment_id IS NULL) ...) ------------------------


def test_complete_naming_another_expectation_than_the_bound_one(world: World) -> None:
    pioneer, first, other = world.pioneer(), world.expect_pi(), world.expect_pi()
    pid = world.pay_for(pioneer, first)
    assert approve(world, pioneer, pid).status_code == 200
    txid = str(world.driver.pay(pid)["txid"])
    world.rename(pid, other)
    before = world.counts()
    refused(complete(world, pioneer, pid, txid), 409, "pi_expectation_mismatch")
    assert world.counts() == before


def test_incomplete_payment_naming_another_expectation_is_flagged_once(world: World) -> None:
    """Also pi_flags UNIQUE (payment_id, reason): the SDK reports it again, one flag stays."""
    pioneer, first, other = world.pioneer(), world.expect_pi(), world.expect_pi()
    pid = world.pay_for(pioneer, first)
    assert approve(world, pioneer, pid).status_code == 200
    world.driver.pay(pid)
    world.rename(pid, other)
    before = world.counts()
    for _ in range(2):
        found = world.http.post(
            "/v1/pi/payments/incomplete",
            json={"payment": {"identifier": pid}},
            headers=bearer(pioneer),
        )
        refused(found, 422, "pi_expectation_mismatch")
    assert world.counts() == before
    with world.engine.connect() as conn:
        flags = conn.execute(
            text("SELECT reason FROM pi_flags WHERE payment_id = :pid"), {"pid": pid}
        ).scalars()
        assert list(flags) == ["pi_expectation_mismatch"]


# --- pi_payments.expectation_id UNIQUE -----------------------------------------------------------


def test_second_payment_for_a_taken_expectation(world: World) -> None:
    exp = world.expect_pi()
    first_payer, second_payer = world.pioneer(), world.pioneer()
    assert approve(world, first_payer, world.pay_for(first_payer, exp)).status_code == 200
    second = world.pay_for(second_payer, exp)
    before = world.counts()
    refused(approve(world, second_payer, second), 409, "pi_expectation_fulfilled")
    assert world.counts() == before


# --- pi_payments.txid UNIQUE, and CHECK (credited = txid and transfer_id set) --------------------


def test_txid_of_another_payment(world: World) -> None:
    first_payer, second_payer = world.pioneer(), world.pioneer()
    first = world.pay_for(first_payer, world.expect_pi())
    second = world.pay_for(second_payer, world.expect_pi())
    assert approve(world, first_payer, first).status_code == 200
    assert approve(world, second_payer, second).status_code == 200
    txid = str(world.driver.pay(first)["txid"])
    assert complete(world, first_payer, first, txid).status_code == 200
    before = world.counts()
    refused(complete(world, second_payer, second, txid), 409, "pi_txid_reused")
    other_tx = "0" * 64
    refused(complete(world, first_payer, first, other_tx), 409, "pi_txid_mismatch")
    assert world.counts() == before


# --- pi_payments CHECK txid ~ '^[0-9a-f]{64}$', CHECK length(payment_id) BETWEEN 1 AND 28 --------


def test_shapes_the_checks_would_refuse(world: World) -> None:
    pioneer = world.pioneer()
    pid = world.pay_for(pioneer, world.expect_pi())
    assert approve(world, pioneer, pid).status_code == 200
    before = world.counts()
    refused(complete(world, pioneer, pid, "F" * 64), 400, "pi_bad_txid")
    refused(approve(world, pioneer, "p" * 29), 400, "pi_bad_payment_id")
    assert world.counts() == before


# --- pi_payments CHECK amount_units > 0 (the amount is the expectation's) ------------------------


def test_amount_other_than_expected(world: World) -> None:
    pioneer = world.pioneer()
    pid = world.pay_for(pioneer, world.expect_pi(), amount="1.0000001")
    before = world.counts()
    refused(approve(world, pioneer, pid), 422, "pi_amount_mismatch")
    assert world.counts() == before


# --- QRIS: gateway notifications ------------------------------------------------------------------


def midtrans(
    order_id: str, tx_id: str, amount: str = "15000.00", status: str = "settlement"
) -> bytes:
    document = {"transaction_time": "2024-12-02 09:05:00", "transaction_status": status,
                "transaction_id": tx_id, "status_code": "200", "order_id": order_id,
                "gross_amount": amount, "payment_type": "qris"}  # fmt: skip
    material = order_id + "200" + amount + MIDTRANS_KEY
    document["signature_key"] = hashlib.sha512(material.encode()).hexdigest()
    return json.dumps(document).encode()


def expect_qris(world: World) -> str:
    reference = f"R-{uuid.uuid4().hex[:12]}"
    with world.engine.begin() as conn:
        create_qris_expectation(at(conn, datetime.now(UTC) - timedelta(days=1000)),
                                nmid="ID1029999999999", amount_sen=1_500_000,
                                ttl_us=us(timedelta(days=2000)), reference=reference)  # fmt: skip
    return reference


def notify(world: World, body: bytes) -> httpx.Response:
    """Midtrans first knows the transaction as the notification says (its status API confirms
    every notification), then the notification is delivered."""
    sent = json.loads(body)
    world.midtrans.record(
        sent["order_id"],
        transaction_id=sent["transaction_id"],
        transaction_status=sent["transaction_status"],
        gross_amount=sent["gross_amount"],
    )
    return world.http.post(MIDTRANS_URL, content=body)


@pytest.mark.parametrize(
    ("tx_id", "amount"),
    [
        ("t" * 129, "15000.00"),  # qris_events CHECK length(provider_tx_id) BETWEEN 1 AND 128
        ("tx-\u0000-nul", "15000.00"),  # PostgreSQL text holds no NUL
        ("tx-ok", "-1.00"),  # qris_events CHECK amount_sen >= 0
        ("tx-ok", "92233720368547758.08"),  # one sen past BIGINT
    ],
    ids=["tx_id_too_long", "nul_in_tx_id", "negative_amount", "amount_past_bigint"],
)
def test_notification_the_tables_would_refuse(world: World, tx_id: str, amount: str) -> None:
    reference = expect_qris(world)
    before = world.counts()
    answer = notify(world, midtrans(reference, tx_id, amount))
    code = "qris_notification_malformed" if amount == "15000.00" else "amount_invalid"
    if amount.startswith("9"):
        code = "amount_out_of_range"
    refused(answer, 400, code)
    assert world.counts() == before
    with world.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT count(*) FROM qris_events WHERE reference = :r"), {"r": reference}
        ).scalar_one()
    assert stored == 0


def test_repeated_stale_and_second_payment_post_nothing(world: World) -> None:
    """qris_events UNIQUE (provider, provider_tx_id, status), qris_payments PRIMARY KEY, and the
    expectation paid once (qris_expectations CHECK paid = gross and paid_at set)."""
    reference = expect_qris(world)
    tx_id = f"tx-{uuid.uuid4().hex}"
    assert notify(world, midtrans(reference, tx_id)).json()["outcome"] == "posted"
    before = world.counts()
    assert notify(world, midtrans(reference, tx_id)).json()["outcome"] == "duplicate"
    stale = notify(world, midtrans(reference, tx_id, status="pending"))
    assert stale.json()["outcome"] == "stale"
    second = notify(world, midtrans(reference, f"tx-{uuid.uuid4().hex}"))
    assert second.status_code == 200
    assert second.json()["outcome"] == "recorded"
    assert world.counts() == before


def test_amount_mismatch_is_an_exception_once(world: World) -> None:
    """qris_exceptions UNIQUE (kind, source, source_id): the gateway retries, one exception."""
    reference = expect_qris(world)
    tx_id = f"tx-{uuid.uuid4().hex}"
    before = world.counts()
    for expected in ("exception", "duplicate"):
        answer = notify(world, midtrans(reference, tx_id, amount="14999.99"))
        assert answer.status_code == 200
        assert answer.json()["outcome"] == expected
    assert world.counts() == before
    with world.engine.connect() as conn:
        kinds = conn.execute(
            text("SELECT kind FROM qris_exceptions WHERE reference = :r"), {"r": reference}
        ).scalars()
        assert list(kinds) == ["amount_mismatch"]
