"""run_periodic on PostgreSQL: expired pending transfers are voided, the EVM scan is skipped while
no node answers, the rails' hooks run, and one failing job does not stop the others."""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from escrow.ledger import Ledger
from escrow.model import AccountKind, TransferFlags, TransferRequest
from settlement.bootstrap import Container, assemble_container
from settlement.config import Settings
from settlement.outbox import Dispatcher
from settlement.schedule import run_periodic

pytestmark = pytest.mark.integration


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _container(engine: Engine, tmp_path: Path) -> Container:
    settings = Settings(data_dir=tmp_path, evm_rpc_url=_closed_port_url(), evm_rpc_timeout_s=1.0)
    return assemble_container(settings, "unused", engine, Dispatcher(engine, {}))


def _pending(engine: Engine, timeout_s: int) -> uuid.UUID:
    suffix = uuid.uuid4().hex[:12]
    tid = uuid.uuid4()
    with engine.begin() as conn:
        ledger = Ledger(conn)
        ledger.ensure_account(f"test:sched:{suffix}:from", "IDR", AccountKind.ASSET)
        ledger.ensure_account(f"test:sched:{suffix}:to", "IDR", AccountKind.LIABILITY)
        result = ledger.post(
            TransferRequest(
                id=tid,
                debit=f"test:sched:{suffix}:from",
                credit=f"test:sched:{suffix}:to",
                amount=12_345,
                asset="IDR",
                code="test.schedule.hold",
                flags=TransferFlags.PENDING,
                timeout_s=timeout_s,
            )
        )
    assert result.ok
    return tid


def _pending_status(engine: Engine, tid: uuid.UUID) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT status FROM pending_transfers WHERE id = :id"), {"id": tid}
            ).scalar_one()
        )


def test_periodic_voids_expired_skips_missing_node_and_runs_hooks(
    db_engine: Engine, tmp_path: Path
) -> None:
    expiring, lasting = _pending(db_engine, timeout_s=1), _pending(db_engine, timeout_s=3600)
    hook_calls: list[str] = []
    container = replace(_container(db_engine, tmp_path), jobs=(lambda: hook_calls.append("pi"),))
    time.sleep(1.2)

    outcomes = run_periodic(container)

    assert outcomes["evm_deposits"] == "skipped: node unreachable"
    assert outcomes["hooks"] == "ran"
    assert outcomes["void_expired"].startswith("voided ")
    assert int(outcomes["void_expired"].split()[1]) >= 1
    assert hook_calls == ["pi"]
    assert _pending_status(db_engine, expiring) == "expired"
    assert _pending_status(db_engine, lasting) == "pending"
    run_periodic(container)
    assert _pending_status(db_engine, expiring) == "expired"


def test_a_failing_hook_does_not_stop_the_other_jobs(db_engine: Engine, tmp_path: Path) -> None:
    def broken() -> None:
        raise RuntimeError("rail down")

    container = replace(_container(db_engine, tmp_path), jobs=(broken,))
    expiring = _pending(db_engine, timeout_s=1)
    time.sleep(1.2)

    outcomes = run_periodic(container)

    assert outcomes["hooks"] == "error"
    assert _pending_status(db_engine, expiring) == "expired"
