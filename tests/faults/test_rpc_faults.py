"""The EVM node behind a broken gateway while a withdrawal is minted: a JSON 503, an HTML 502,
hangs that end in dropped connections, then a slow answer (the fault proxy's HTTP modes before
anvil). The mint is retried by the outbox through all of them and happens once: the token's
``totalSupply`` equals ``msc:onchain`` (``msc check`` itself holds) and the withdrawal is minted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.database import worker_database_name
from tests.support.fault_stack import (
    OFFICER,
    Caller,
    Stack,
    books_hold,
    convert_once,
    reserve_capital,
    serving_stack,
    wait_drained,
    withdraw_once,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
faults_each = 2
hang_s = 0.3


@pytest.fixture
def stack(database_server_url: str, worker_id: str, tmp_path: Path) -> Iterator[Stack]:
    name = f"{worker_database_name(worker_id)}_rpc_{uuid.uuid4().hex[:6]}"
    with serving_stack(database_server_url, name, tmp_path) as stack:
        yield stack


def test_a_mint_through_a_broken_node_gateway_happens_once(stack: Stack) -> None:
    with httpx.Client(base_url=stack.serve.base, timeout=10.0) as http:
        caller = Caller(http)
        reserve_capital(caller, "100000000.00")
        attested = stack.serve.run("chain", "attest", "--by", OFFICER)
        assert attested.returncode == 0, attested.stderr.decode()
        _, _, pioneer = convert_once(caller, stack.world, "0.5000000")
        for mode in ("status_503", "html", "hang"):
            stack.rpc_proxy.answer(mode, faults_each, delay_s=hang_s)
        stack.rpc_proxy.answer("slow", 1, delay_s=1.0)
        stack.rpc_proxy.answered.clear()
        transfer = withdraw_once(caller, pioneer, "100.00")
        wait_drained(stack.engine)

    assert stack.rpc_proxy.answered[: 3 * faults_each + 1] == [
        *["status_503"] * faults_each, *["html"] * faults_each, *["hang"] * faults_each, "slow",
    ]  # fmt: skip
    with stack.engine.connect() as conn:
        status = conn.execute(
            text("SELECT status FROM evm_withdrawals WHERE transfer_id = :t"), {"t": transfer}
        ).scalar_one()
        attempts = conn.execute(
            text("SELECT attempts FROM outbox WHERE kind = 'evm.mint' AND key = :t"),
            {"t": transfer},
        ).scalar_one()
        assert books_hold(conn) == {}
    assert status == "minted"
    assert attempts >= 2  # the outbox retried it
    operator = stack.serve.check()
    assert operator.returncode == 0, operator.stdout.decode()[-3000:]
