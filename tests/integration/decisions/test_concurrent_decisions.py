"""Two officers decide one exception at once: the first decision holds the exception's row, the
second waits for it and then meets the recorded decision (refused for another outcome); the
ledger has the first decision's transfer alone."""

from __future__ import annotations

import threading
import uuid
from datetime import date

import pytest
from sqlalchemy import Engine, text

from escrow.clock import SystemClock
from settlement.decisions.qris import decide_qris_exception
from settlement.decisions.record import DecisionRefused, Outcome
from settlement.qris import exceptions
from settlement.qris.exceptions import ExceptionLine
from settlement.unit_of_work import bind, unit_of_work

pytestmark = pytest.mark.integration
WAIT_S = 10


def test_a_concurrent_second_decision_waits_and_is_refused(module_engine: Engine) -> None:
    source_id = uuid.uuid4().hex
    with module_engine.begin() as conn:
        exceptions.record(
            conn,
            ExceptionLine(kind="unmatched_event", source="event", source_id=source_id,
                          business_date=date(2026, 11, 2), detail="stray",
                          action=exceptions.ACTIONS["unmatched_event"], actual_sen=250_000),
        )  # fmt: skip
        exception_id = conn.execute(
            text("SELECT id FROM qris_exceptions WHERE source_id = :s"), {"s": source_id}
        ).scalar_one()
    second: dict[str, object] = {}

    def other_officer() -> None:
        try:
            with unit_of_work(module_engine, SystemClock()) as uow:
                decide_qris_exception(uow, exception_id, Outcome.REFUND, by="budi", note="mine")
        except DecisionRefused as refused:
            second["code"] = refused.code

    with module_engine.connect() as conn, conn.begin():
        decide_qris_exception(
            bind(conn, SystemClock()), exception_id, Outcome.SUSPENSE, by="ani", note="first"
        )
        racer = threading.Thread(target=other_officer)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive()  # waiting for the exception's row
    racer.join(timeout=WAIT_S)

    assert second == {"code": "exception_already_decided"}
    with module_engine.connect() as conn:
        transfers = conn.execute(
            text("SELECT count(*) FROM transfers WHERE user_data->>'exception' = :id"),
            {"id": str(exception_id)},
        ).scalar_one()
        decided = (
            conn.execute(
                text(
                    "SELECT decided_by FROM exception_decisions"
                    " WHERE subject = 'qris_exception' AND subject_id = :id"
                ),
                {"id": exception_id},
            )
            .scalars()
            .all()
        )
    assert transfers == 1
    assert decided == ["ani"]
