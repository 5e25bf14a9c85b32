"""The treasury decides Pi flags: Pi that arrived unbooked goes back by A2U, to the merchant or
to suspense; a flag with no Pi at stake is dismissed; refusals post and queue nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Connection, text

from settlement import chart, parameters
from settlement.decisions.pi import OUTBOX_FLAG_REFUND, decide_pi_flag, pay_flag_refund
from settlement.decisions.record import Decision, DecisionRefused, Outcome
from settlement.outbox import OutboxMessage
from settlement.pi.flags import flag
from tests.integration.decisions.support import balance, onboard, uow_of, writes
from tests.integration.pi.conftest import PiWorld

pytestmark = pytest.mark.integration

UNITS = 31_415_926  # 3.1415926 Pi


def _flag(conn: Connection, units: int | None = UNITS, reason: str = "wallet_unbooked") -> int:
    key = f"wallet:{uuid.uuid4().hex[:20]}"
    detail = {} if units is None else {"amount_units": units, "code": "pi_expectation_not_found"}
    flag(conn, key, uuid.uuid4().hex * 2, reason, detail)
    return int(
        conn.execute(text("SELECT id FROM pi_flags WHERE payment_id = :k"), {"k": key}).scalar_one()
    )


def _decide(conn: Connection, flag_id: int, outcome: Outcome, **more: Any) -> Decision:
    return decide_pi_flag(uow_of(conn), flag_id, outcome, by="treasury:ani", note="seen",
                          **more)  # fmt: skip


def test_unbooked_pi_refunded_goes_back_by_a2u_once(db_conn: Connection, pi_world: PiWorld) -> None:
    uid = f"u-{uuid.uuid4().hex[:8]}"
    flag_id = _flag(db_conn)
    custody = balance(db_conn, chart.pi_custody().code)

    decision = _decide(db_conn, flag_id, Outcome.REFUND, pioneer=uid)

    assert balance(db_conn, chart.pi_custody().code) == custody + UNITS
    assert balance(db_conn, chart.pioneer_pi(uid).code) == UNITS
    assert decision.refund_status == "queued"
    row = db_conn.execute(
        text("SELECT id, key, payload FROM outbox WHERE kind = :kind AND payload->>'uid' = :uid"),
        {"kind": OUTBOX_FLAG_REFUND, "uid": uid},
    ).one()
    assert row.key == str(decision.transfer_ids[0])
    message = OutboxMessage(row.id, OUTBOX_FLAG_REFUND, row.key, row.payload, 1)
    pay_flag_refund(pi_world.deps)(db_conn, message)
    pay_flag_refund(pi_world.deps)(db_conn, message)  # redelivered: the same payout, once
    payouts = db_conn.execute(
        text("SELECT amount_units, debit_account FROM pi_payouts WHERE uid = :uid"), {"uid": uid}
    ).all()
    assert [tuple(p) for p in payouts] == [(UNITS, chart.pioneer_pi(uid).code)]


def test_unbooked_pi_booked_to_the_merchant(db_conn: Connection) -> None:
    merchant_id, _ = onboard(db_conn)

    _decide(db_conn, _flag(db_conn), Outcome.MERCHANT, merchant=merchant_id)

    assert balance(db_conn, chart.merchant_balance(merchant_id, "PI").code) == UNITS


def test_unbooked_pi_written_off_to_suspense(db_conn: Connection) -> None:
    before = balance(db_conn, chart.suspense("PI").code)

    _decide(db_conn, _flag(db_conn), Outcome.SUSPENSE, amount_units=UNITS - 1)

    assert balance(db_conn, chart.suspense("PI").code) == before + UNITS - 1


def test_a_flag_with_no_pi_at_stake_is_dismissed(db_conn: Connection) -> None:
    flag_id = _flag(db_conn, None, "a2u_failed")
    transfers, queued, decided, resolved = writes(db_conn)

    _decide(db_conn, flag_id, Outcome.DISMISS)

    assert writes(db_conn) == (transfers, queued, decided + 1, resolved + 1)


def _refused(conn: Connection, code: str, flag_id: int, outcome: Outcome, **more: Any) -> None:
    before = writes(conn)
    with pytest.raises(DecisionRefused) as refused:
        _decide(conn, flag_id, outcome, **more)
    assert refused.value.code == code
    assert writes(conn) == before  # nothing posted, queued, recorded or resolved


def test_refused_decisions_post_and_queue_nothing(db_conn: Connection) -> None:
    _refused(db_conn, "exception_pioneer_required", _flag(db_conn), Outcome.REFUND)
    _refused(db_conn, "exception_outcome_not_allowed", _flag(db_conn, None), Outcome.REFUND)
    _refused(db_conn, "exception_outcome_not_allowed", _flag(db_conn), Outcome.DISMISS)
    _refused(db_conn, "exception_merchant_unknown", _flag(db_conn), Outcome.MERCHANT)
    decided = _flag(db_conn)
    _decide(db_conn, decided, Outcome.SUSPENSE)
    _refused(db_conn, "exception_already_decided", decided, Outcome.REFUND, pioneer="u-1")
    parameters.set_(uow_of(db_conn), parameters.EXCEPTION_DECISION_LIMITS["PI"], "1", "t")
    _refused(db_conn, "exception_needs_governance", _flag(db_conn), Outcome.REFUND, pioneer="u-1")
