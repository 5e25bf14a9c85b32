"""Every UNIQUE / CHECK constraint of the Pi and QRIS tables, driven through the HTTP routes.

For each constraint one request sequence that would violate it: the answer is never a 5xx, a
refusal is problem+json with its stable code, and nothing was posted to the ledger or queued in
the outbox. The use case checks the condition before the database would refuse; these tests keep
it so. Constraints no HTTP route can reach (expectations are created by the CLI and the
processes; payouts, custody deposits, report lines and the MDR schedule have no route) are
exercised by the rails' own integration tests.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

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
from settlement.bootstrap import build_container
from settlement.config import Settings
from settlement.pi.deps import PiDeps
from settlement.pi.expectations import Expectation, create_expectation, metadata_for

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

    def counts(self) -> tuple[int, int]:
        """Ledger transfers and outbox rows: a refusal leaves both as they were."""
        with self.engine.connect() as conn:
            transfers = conn.execute(text("SELECT count(*) FROM transfers")).scalar_one()
            outbox = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
        return int(transfers), int(outbox)

    def expect_pi(self, amount_units: int = 10_000_000) -> Expectation:
        with self.engine.begin() as conn:
            return create_expectation(
                conn,
                purpose="test",
                amount_units=amount_units,
                credit_account=f"pioneer:{uuid.uuid4().hex[:12]}:PI",
                now=time.time(),
            )

    def pioneer(self) -> SandboxPioneer:
        return self.driver.add_pioneer("ani", "100")

    def pay_for(self, pioneer: SandboxPioneer, exp: Expectation, amount: str = "1") -> str:
        return self.driver.create_payment(pioneer, amount, "test", metadata_for(exp))

    def rename(self, pid: str, exp: Expectation) -> None:
        """Pi now reports metadata naming another expectation than the one first approved."""
        self.sandbox.platform.payments[pid]["metadata"] = metadata_for(exp)


@pytest.fixture
def world(database_url: str, db_engine: Engine) -> Iterator[World]:
    container = build_container(Settings(), database_url)
    wallet = Keypair.random()
    sandbox = make_sandbox(api_key=PI_API_KEY, app_address=wallet.public_key, base_url=PI_BASE)
    with inprocess_client(build_app(sandbox), PI_BASE) as pi_http:
        transport = JsonTransport(pi_http, HttpLimits(attempts_max=2), sleep=lambda _s: None)
        container.pi = PiDeps(
            platform=PiPlatformClient(transport, PI_BASE, PI_API_KEY),
            chain=HorizonClient(transport, PI_BASE),
            network="Pi Testnet",
            app_address=wallet.public_key,
            signer=wallet,
        )
        app = create_app(container)
        with inprocess_client(app, "http://service.test", raise_app_exceptions=False) as http:
            yield World(http, container.engine, sandbox, SandboxDriver(pi_http, PI_BASE))
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
