"""The treasury decides QRIS exceptions: each outcome's ledger effect, recorded once; refusals
post, queue and record nothing (decision 0026)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from chain.bank.account import BankAccount
from chain.qris.reports import load_formats
from escrow.calendar import WIB
from settlement import chart, parameters
from settlement.audit.proposal import sign
from settlement.decisions.qris import decide_qris_exception
from settlement.decisions.record import Decision, DecisionRefused, Outcome
from settlement.governance import treasury
from settlement.qris import exceptions
from settlement.qris.accounts import ensure_rail_accounts
from settlement.qris.exceptions import ExceptionLine
from settlement.qris.expectations import create_expectation
from settlement.qris.ingest import ingest_report
from settlement.qris.posting import Receipt, post_receipts
from settlement.qris.reconcile import reconcile_day
from tests.integration.decisions.support import balance, onboard, uow_of, writes
from tests.support import governance
from tests.support.uow import at

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 2)
AMOUNT = 1_500_000
HOUR_US = 3_600_000_000
PAYER = BankAccount("014", "1234567890", "SITI AMINAH")
FORMATS = load_formats(Path(__file__).parents[3] / "settlement" / "qris" / "report_formats.json")


def _exception(
    conn: Connection,
    kind: str,
    *,
    nmid: str = "ID0000000000000",
    amount: int | None = AMOUNT,
    expectation: uuid.UUID | None = None,
) -> int:
    source_id = uuid.uuid4().hex
    source = "expectation" if kind == "unmatched_expectation" else "event"
    exceptions.record(
        conn,
        ExceptionLine(kind=kind, source=source, source_id=source_id, business_date=DAY,
                      detail="test", action=exceptions.ACTIONS[kind], expectation_id=expectation,
                      rrn="000000000001", nmid=nmid, expected_sen=amount, actual_sen=amount),
    )  # fmt: skip
    return int(
        conn.execute(
            text("SELECT id FROM qris_exceptions WHERE source_id = :s"), {"s": source_id}
        ).scalar_one()
    )


def _booked(conn: Connection, merchant_id: str, nmid: str) -> uuid.UUID:
    """An expectation paid to the merchant (its receipt posted), as a late payment is."""
    uow = uow_of(conn)
    ensure_rail_accounts(uow.ledger)
    credit = chart.merchant_idr(merchant_id).code
    found = create_expectation(uow, nmid=nmid, amount_sen=AMOUNT, ttl_us=HOUR_US,
                               credit_account=credit)  # fmt: skip
    post_receipts(uow, [Receipt(found.id, credit, AMOUNT, 0, "000000000001", "report")])
    return found.id


def _decide(conn: Connection, exception_id: int, outcome: Outcome, **more: Any) -> Decision:
    return decide_qris_exception(
        uow_of(conn),
        exception_id,
        outcome,
        by="treasury:ani",
        note="checked",
        **more,
    )


def _resolved(conn: Connection, exception_id: int) -> bool:
    return (
        conn.execute(
            text("SELECT resolved_at FROM qris_exceptions WHERE id = :id"), {"id": exception_id}
        ).scalar_one()
        is not None
    )


def test_an_unbooked_payment_refunded_is_owed_to_the_payer(db_conn: Connection) -> None:
    exception_id = _exception(db_conn, "unmatched_event")
    clearing = balance(db_conn, chart.qris_clearing().code)
    owed = balance(db_conn, chart.qris_refunds().code)

    decision = decide_qris_exception(
        uow_of(db_conn), exception_id, Outcome.REFUND, by="treasury:ani", note="payer called",
        payer_account=PAYER,
    )  # fmt: skip

    assert balance(db_conn, chart.qris_clearing().code) == clearing + AMOUNT
    assert balance(db_conn, chart.qris_refunds().code) == owed + AMOUNT
    assert decision.refund_status == "owed"
    assert len(decision.transfer_ids) == 1
    # the daily payout batch pays it from the refunds owed, to the payer's bank account
    obligation = db_conn.execute(
        text("SELECT kind, payee, amount_units, debit_account, account_number, status"
             " FROM payout_obligations WHERE source_ref = :ref"),
        {"ref": str(decision.transfer_ids[0])},
    ).one()  # fmt: skip
    assert tuple(obligation) == (
        "qris_refund", f"qris-exception:{exception_id}", AMOUNT, chart.qris_refunds().code,
        PAYER.account_number, "open",
    )  # fmt: skip
    row = db_conn.execute(
        text("SELECT decided_by, note, outcome FROM exception_decisions WHERE subject_id = :id"
             " AND subject = 'qris_exception'"), {"id": exception_id},
    ).one()  # fmt: skip
    assert tuple(row) == ("treasury:ani", "payer called", "refund")
    assert _resolved(db_conn, exception_id)


def test_an_unbooked_payment_booked_to_the_named_merchant(db_conn: Connection) -> None:
    merchant_id, _ = onboard(db_conn)
    exception_id = _exception(db_conn, "unmatched_report")

    _decide(db_conn, exception_id, Outcome.MERCHANT, merchant=merchant_id)

    assert balance(db_conn, chart.merchant_idr(merchant_id).code) == AMOUNT


def test_an_unbooked_payment_goes_to_the_merchant_its_nmid_names(db_conn: Connection) -> None:
    merchant_id, nmid = onboard(db_conn)
    exception_id = _exception(db_conn, "amount_mismatch", nmid=nmid)

    _decide(db_conn, exception_id, Outcome.MERCHANT, amount_units=AMOUNT - 100)

    assert balance(db_conn, chart.merchant_idr(merchant_id).code) == AMOUNT - 100


def test_a_duplicate_written_off_lands_in_suspense(db_conn: Connection) -> None:
    exception_id = _exception(db_conn, "duplicate")
    before = balance(db_conn, chart.suspense("IDR").code)

    _decide(db_conn, exception_id, Outcome.SUSPENSE)

    assert balance(db_conn, chart.suspense("IDR").code) == before + AMOUNT


def test_a_late_payment_refunded_leaves_the_merchant(db_conn: Connection) -> None:
    merchant_id, nmid = onboard(db_conn)
    exception_id = _exception(
        db_conn, "late", nmid=nmid, expectation=_booked(db_conn, merchant_id, nmid)
    )
    owed = balance(db_conn, chart.qris_refunds().code)

    _decide(db_conn, exception_id, Outcome.REFUND, payer_account=PAYER)

    assert balance(db_conn, chart.merchant_idr(merchant_id).code) == 0
    assert balance(db_conn, chart.qris_refunds().code) == owed + AMOUNT


def test_a_late_payment_kept_by_the_merchant_posts_nothing(db_conn: Connection) -> None:
    merchant_id, nmid = onboard(db_conn)
    exception_id = _exception(
        db_conn, "late", nmid=nmid, expectation=_booked(db_conn, merchant_id, nmid)
    )
    transfers = writes(db_conn)[0]

    decision = _decide(db_conn, exception_id, Outcome.MERCHANT)

    assert writes(db_conn)[0] == transfers
    assert decision.transfer_ids == ()
    assert balance(db_conn, chart.merchant_idr(merchant_id).code) == AMOUNT
    assert _resolved(db_conn, exception_id)


def test_a_refund_the_acquirer_reported_reverses_the_merchant_credit(db_conn: Connection) -> None:
    merchant_id, nmid = onboard(db_conn)
    exception_id = _exception(
        db_conn, "refund", nmid=nmid, expectation=_booked(db_conn, merchant_id, nmid)
    )
    clearing = balance(db_conn, chart.qris_clearing().code)

    _decide(db_conn, exception_id, Outcome.REFUND)

    assert balance(db_conn, chart.merchant_idr(merchant_id).code) == 0
    assert balance(db_conn, chart.qris_clearing().code) == clearing - AMOUNT


def test_nothing_at_stake_is_dismissed(db_conn: Connection) -> None:
    exception_id = _exception(db_conn, "fee_mismatch")
    transfers = writes(db_conn)[0]

    _decide(db_conn, exception_id, Outcome.DISMISS)

    assert writes(db_conn)[0] == transfers
    assert _resolved(db_conn, exception_id)


def test_the_same_decision_again_replays_and_posts_nothing_more(db_conn: Connection) -> None:
    exception_id = _exception(db_conn, "unmatched_event")
    first = _decide(db_conn, exception_id, Outcome.SUSPENSE)
    done = writes(db_conn)

    again = _decide(db_conn, exception_id, Outcome.SUSPENSE)

    assert writes(db_conn) == done
    assert again.replayed
    assert again.transfer_ids == first.transfer_ids


def _refused(
    conn: Connection, code: str, exception_id: int, outcome: Outcome, **more: object
) -> None:
    before = writes(conn)
    with pytest.raises(DecisionRefused) as refused:
        _decide(conn, exception_id, outcome, **more)
    assert refused.value.code == code
    assert writes(conn) == before  # nothing posted, queued, recorded or resolved


def test_another_decision_on_a_decided_exception_is_refused(db_conn: Connection) -> None:
    exception_id = _exception(db_conn, "unmatched_event")
    _decide(db_conn, exception_id, Outcome.SUSPENSE)

    _refused(db_conn, "exception_already_decided", exception_id, Outcome.REFUND,
             payer_account=PAYER)  # fmt: skip


def test_above_the_one_officer_limit_needs_governance(db_conn: Connection) -> None:
    parameters.set_(uow_of(db_conn), parameters.EXCEPTION_DECISION_LIMITS["IDR"], "10000.00", "t")
    exception_id = _exception(db_conn, "unmatched_event", amount=1_000_001)

    _refused(
        db_conn, "exception_needs_governance", exception_id, Outcome.REFUND, payer_account=PAYER
    )
    # at the limit: one officer decides it
    _decide(db_conn, exception_id, Outcome.REFUND, amount_units=1_000_000, payer_account=PAYER)


def test_above_the_limit_a_2_of_3_proposal_decides(db_conn: Connection) -> None:
    parameters.set_(uow_of(db_conn), parameters.EXCEPTION_DECISION_LIMITS["IDR"], "10000.00", "t")
    exception_id = _exception(db_conn, "unmatched_event", amount=1_000_001)
    uow = uow_of(db_conn)
    governance.ensure_officers_in(uow)
    params = {"exception_id": exception_id, "outcome": "refund", "note": "payer asked",
              "bank_code": PAYER.bank_code, "account_number": PAYER.account_number,
              "holder_name": PAYER.holder_name}  # fmt: skip
    proposal = treasury.propose(uow, "t", "exception.qris_decide", params, 2**62)
    for key in governance.OFFICER_KEYS[:2]:
        treasury.add_signature(uow, "t", proposal.id(), sign(proposal, key))
    done = treasury.execute(uow, "t", proposal.id())
    assert (done["result"]["amount_units"], done["result"]["decided_by"]) == (1_000_001, done["by"])


def test_refusals_of_what_the_exception_cannot_be(db_conn: Connection) -> None:
    _refused(
        db_conn,
        "exception_outcome_not_allowed",
        _exception(db_conn, "fee_mismatch"),
        Outcome.REFUND,
    )
    _refused(
        db_conn,
        "exception_outcome_not_allowed",
        _exception(db_conn, "unmatched_event"),
        Outcome.DISMISS,
    )
    _refused(
        db_conn,
        "exception_merchant_required",
        _exception(db_conn, "unmatched_event"),
        Outcome.MERCHANT,
    )
    _refused(
        db_conn,
        "exception_merchant_unknown",
        _exception(db_conn, "unmatched_event"),
        Outcome.MERCHANT,
        merchant="UMnobody",
    )
    _refused(
        db_conn,
        "exception_amount_invalid",
        _exception(db_conn, "unmatched_event"),
        Outcome.REFUND,
        amount_units=AMOUNT + 1,
    )
    _refused(
        db_conn,
        "exception_bank_account_required",
        _exception(db_conn, "unmatched_event"),
        Outcome.REFUND,
    )
    _refused(db_conn, "exception_unknown", 2**62, Outcome.REFUND)
    # a late payment into a checkout's escrow is the checkout's to decide
    _refused(db_conn, "exception_outcome_not_allowed", _exception(db_conn, "late"), Outcome.REFUND)


def test_an_unmatched_report_line_decided_books_its_reported_mdr(
    db_conn: Connection, tmp_path: Path
) -> None:
    merchant_id, nmid = onboard(db_conn)
    rrn = f"{uuid.uuid4().int % 10**12:012d}"
    paid = datetime(2024, 12, 2, 9, 0, tzinfo=WIB)
    report = tmp_path / "acquirer.csv"
    report.write_text(
        "rrn,amount,fee,transaction_time,nmid,reference,transaction_id,status\n"
        f"{rrn},15000.00,105.00,2024-12-02 09:00:00,{nmid},,t{rrn},SUCCESS\n"
    )
    ingest_report(uow_of(db_conn), report, FORMATS["generic"])
    reconcile_day(
        at(db_conn, paid + timedelta(days=1)), paid.date(), expectation_ttl_max_us=HOUR_US
    )
    exception_id = db_conn.execute(
        text("SELECT id FROM qris_exceptions WHERE rrn = :rrn AND kind = 'unmatched_report'"),
        {"rrn": rrn},
    ).scalar_one()
    clearing = balance(db_conn, chart.qris_clearing().code)
    mdr = balance(db_conn, chart.qris_mdr().code)

    decision = _decide(db_conn, exception_id, Outcome.MERCHANT)

    assert balance(db_conn, chart.merchant_idr(merchant_id).code) == 1_500_000
    assert balance(db_conn, chart.qris_clearing().code) == clearing + 1_489_500
    assert balance(db_conn, chart.qris_mdr().code) == mdr + 10_500
    assert len(decision.transfer_ids) == 2
