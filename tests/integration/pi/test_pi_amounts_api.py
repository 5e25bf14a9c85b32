"""A Pi amount that would round is refused over HTTP with its stable code; nothing is recorded."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import Engine, text

from api.app import create_app
from chain.pi.sandbox.inprocess import inprocess_client
from settlement.bootstrap import build_container
from settlement.config import Settings
from settlement.pi.expectations import create_expectation, metadata_for
from settlement.unit_of_work import bind
from tests.integration.pi.conftest import PiWorld

pytestmark = pytest.mark.integration


@pytest.fixture
def service(database_url: str, pi_world: PiWorld) -> Iterator[httpx.Client]:
    container = replace(build_container(Settings(), database_url), pi=pi_world.deps)
    with inprocess_client(create_app(container), "http://service.test") as http:
        yield http
    container.engine.dispose()


@pytest.mark.parametrize(
    ("amount", "code"),
    [("1.0000000000000000000000000000001", "amount_too_precise"),
     ("1e999999999", "amount_out_of_range")],
)  # fmt: skip
def test_approve_refuses_an_amount_that_would_round(
    service: httpx.Client, pi_world: PiWorld, db_engine: Engine, amount: str, code: str
) -> None:
    with db_engine.begin() as conn:
        exp = create_expectation(
            bind(conn, pi_world.deps.clock), purpose="test", amount_units=10_000_000,
            credit_account=f"pioneer:{uuid.uuid4().hex[:12]}:PI"
        )  # fmt: skip
    pioneer = pi_world.driver.add_pioneer("ani", "100")
    pid = pi_world.driver.create_payment(pioneer, "1", "test", metadata_for(exp))
    pi_world.sandbox.platform.payments[pid]["amount"] = amount  # what Pi's API now answers

    reply = service.post(
        f"/v1/pi/payments/{pid}/approve",
        headers={"Authorization": f"Bearer {pioneer.access_token}"},
    )
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["code"] == code
    with db_engine.connect() as conn:
        recorded = conn.execute(
            text("SELECT count(*) FROM pi_payments WHERE payment_id = :p"), {"p": pid}
        ).scalar_one()
        status = conn.execute(
            text("SELECT status FROM pi_expectations WHERE id = :i"), {"i": exp.id}
        ).scalar_one()
    assert (recorded, status) == (0, "open")
    status_at_pi = pi_world.sandbox.platform.payments[pid]["status"]
    assert isinstance(status_at_pi, dict)
    assert status_at_pi["developer_approved"] is False
