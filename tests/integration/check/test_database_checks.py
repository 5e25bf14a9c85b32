"""`msc check`'s database checks on PostgreSQL: a consistent book holds every check, and each
way of breaking one invariant fails exactly the checks that watch it, naming what differs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from escrow.calendar import from_us
from escrow.clock import FixedClock
from escrow.ledger import Ledger
from escrow.model import TransferFlags, TransferRequest
from escrow.periods import period_of
from settlement.audit.export import export_period
from settlement.audit.signing import load_officers
from settlement.chart import TransferCode
from settlement.check.model import CheckResult, Outcome
from settlement.check.runner import CheckPolicy, database_checks
from settlement.checkout.rules import hold_id
from settlement.reserves import reserve
from settlement.unit_of_work import UnitOfWork, bind
from tests.integration.audit.test_audit_export_pg import KEY, close, open_accounts, post_month
from tests.support.checkout_rows import (
    checkout_id,
    insert_checkout,
    insert_leg,
    insert_merchant,
    merchant_id,
    open_checkout_accounts,
    pay_pi,
    post,
)
from tests.support.locks import offer, open_lock

pytestmark = pytest.mark.integration
POLICY = CheckPolicy(outbox_lag_max_s=300, pseudonym_key=KEY)
PLATE_PI = 5_000_000  # 0.5 PI


@pytest.fixture
def uow(module_conn: Connection, clock: FixedClock) -> UnitOfWork:
    """A merchant with one live checkout whose Pi leg is paid and held, as the checkout does."""
    work = bind(module_conn, clock)
    mid, cid = merchant_id(), checkout_id()
    insert_merchant(work.conn, mid)
    open_checkout_accounts(work, mid)
    insert_checkout(work.conn, cid, mid, price_units=1_500_000, status="open", at_us=clock.now_us())
    leg = insert_leg(
        work.conn,
        cid,
        1,
        "PI",
        "PI",
        idr_units=750_000,
        amount_units=PLATE_PI,
        status="paid",
        paid_at=from_us(clock.now_us()),
    )
    insert_leg(
        work.conn, cid, 2, "QRIS", "IDR", idr_units=750_000, amount_units=750_000, status="open"
    )
    pay_pi(work, PLATE_PI)
    post(
        work,
        TransferRequest(
            hold_id(leg),
            "escrow:checkout:PI",
            f"merchant:{mid}:PI",
            PLATE_PI,
            "PI",
            TransferCode.CHECKOUT_HOLD,
            TransferFlags.PENDING,
            user_data={"checkout": cid, "leg": leg},
        ),
    )
    work.conn.info["checkout"] = cid
    return work


def _results(uow: UnitOfWork) -> dict[str, CheckResult]:
    return {name: check(uow.conn) for name, check in database_checks(uow.clock, POLICY)}


def _failing(uow: UnitOfWork, corrupt: Callable[[Connection], None]) -> dict[str, CheckResult]:
    """The checks that fail after ``corrupt`` (rolled back after)."""
    with uow.conn.begin_nested() as nested:
        corrupt(uow.conn)
        found = {name: r for name, r in _results(uow).items() if r.outcome is Outcome.FAILED}
        nested.rollback()
    return found


def _bypassing_guards(conn: Connection, statement: str) -> None:
    """Write what the ledger's triggers would refuse: the damage a check must see."""
    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    conn.exec_driver_sql(statement)
    conn.exec_driver_sql("SET LOCAL session_replication_role = origin")


def test_a_consistent_book_holds_every_check(uow: UnitOfWork) -> None:
    results = _results(uow)
    assert {r.outcome for r in results.values()} == {Outcome.HELD}, results
    assert "1 live paid legs, each held once" in results["escrow_holds"].detail


def test_a_total_changed_behind_the_ledger_fails_double_entry_and_running_totals(
    uow: UnitOfWork,
) -> None:
    failing = _failing(
        uow,
        lambda conn: _bypassing_guards(
            conn,
            "UPDATE accounts SET credits_posted = credits_posted + 7"
            " WHERE code = 'escrow:checkout:PI'",
        ),
    )
    assert set(failing) == {"double_entry", "running_totals"}
    assert "PI posted -7" in failing["double_entry"].detail
    assert "escrow:checkout:PI" in failing["running_totals"].detail


def test_a_pending_total_without_its_hold_fails_running_totals(uow: UnitOfWork) -> None:
    failing = _failing(
        uow,
        lambda conn: _bypassing_guards(
            conn, "UPDATE pending_transfers SET status = 'voided' WHERE status = 'pending'"
        ),
    )
    assert "running_totals" in failing
    assert "escrow_holds" in failing  # the live paid leg has lost its hold


@pytest.mark.parametrize(
    "damage",
    [
        "DELETE FROM pending_transfers WHERE status = 'pending'",
        "UPDATE pending_transfers SET amount = amount - 1 WHERE status = 'pending'",
        "UPDATE pending_transfers SET credit_account_id = debit_account_id"
        " WHERE status = 'pending'",
        "UPDATE pending_transfers SET status = 'posted', resolved_by = id WHERE status = 'pending'",
        "INSERT INTO pending_transfers (id, debit_account_id, credit_account_id, amount, asset,"
        " status) SELECT gen_random_uuid(), debit_account_id, credit_account_id, amount, asset,"
        " status FROM pending_transfers",
    ],
    ids=["reservation-lost", "amount", "accounts", "resolved-by-itself", "no-transfer"],
)
def test_a_reservation_that_is_not_its_pending_transfer_fails_pending_reservations(
    uow: UnitOfWork, damage: str
) -> None:
    held = uow.conn.execute(text("SELECT id::text FROM pending_transfers")).scalars().all()
    assert len(held) == 1
    failing = _failing(uow, lambda conn: _bypassing_guards(conn, damage))
    assert "pending_reservations" in failing
    assert "1 pending transfers disagree with their reservations" in (
        failing["pending_reservations"].detail
    )
    if "INSERT" not in damage:
        assert held[0] in failing["pending_reservations"].detail


def test_a_paid_leg_without_a_hold_and_a_hold_of_a_closed_checkout_are_named(
    uow: UnitOfWork,
) -> None:
    cid = uow.conn.info["checkout"]
    unheld = _failing(
        uow,
        lambda conn: conn.execute(
            text(
                "UPDATE checkout_legs SET status = 'paid'"
                " WHERE checkout_id = :c AND tender = 'QRIS'"
            ),
            {"c": cid},
        ),
    )
    assert set(unheld) == {"escrow_holds"}
    assert f"1 live paid legs not held: {cid}-qr" in unheld["escrow_holds"].detail
    orphan = _failing(
        uow,
        lambda conn: conn.execute(
            text("UPDATE checkouts SET status = 'released' WHERE id = :c"), {"c": cid}
        ),
    )
    assert set(orphan) == {"escrow_holds"}
    assert f"1 holds of no live paid leg: {cid}-pi" in orphan["escrow_holds"].detail


def test_an_account_past_its_flags_is_named(uow: UnitOfWork) -> None:
    """The database's CHECK refuses this too; the check is there for a schema that lost it."""
    failing = _failing(
        uow,
        lambda conn: _bypassing_guards(
            conn,
            "ALTER TABLE accounts DROP CONSTRAINT debits_must_not_exceed_credits;"
            " UPDATE accounts SET debits_posted = debits_posted + 1"
            " WHERE code = 'escrow:checkout:IDR'",
        ),
    )
    assert "account_flags" in failing
    assert "escrow:checkout:IDR" in failing["account_flags"].detail


def test_a_closed_month_that_grew_fails(uow: UnitOfWork, clock: FixedClock) -> None:
    now = clock.now_us()

    def closed_with(count: int) -> Callable[[Connection], None]:
        def corrupt(conn: Connection) -> None:
            conn.execute(
                text(
                    "INSERT INTO ledger_periods (period, starts_at_us, ends_at_us, transfer_count,"
                    " closed_at, closed_by) VALUES ('1999-01', 0, :end, :count, now(), 'test')"
                ),
                {"end": now + 10**12, "count": count},
            )

        return corrupt

    stored = int(uow.conn.execute(text("SELECT count(*) FROM transfers")).scalar_one())
    assert _failing(uow, closed_with(stored)) == {}
    grown = _failing(uow, closed_with(stored - 1))
    assert set(grown) == {"closed_periods"}
    assert f"1999-01 ({stored - 1} then, {stored} now)" in grown["closed_periods"].detail


def test_a_paid_expectation_without_its_receipt_fails(uow: UnitOfWork, clock: FixedClock) -> None:
    def paid_unbooked(conn: Connection) -> None:
        conn.execute(
            text(
                "INSERT INTO qris_expectations (id, reference, nmid, criteria, amount_sen,"
                " credit_account, status, created_at, expires_at, paid_at, gross_sen, fee_sen,"
                " transfer_id, purpose) VALUES (:id, 'CHK-UNBOOKED-qr', 'ID1020000000001', 'UMI',"
                " 750000, 'escrow:checkout:IDR', 'paid', :at, :expires, :at, 750000, 2250, :tid,"
                " 'checkout')"
            ),
            {
                "id": uuid.uuid4(),
                "at": from_us(clock.now_us()),
                "expires": from_us(clock.now_us() + 600 * 10**6),
                "tid": uuid.uuid4(),
            },
        )

    failing = _failing(uow, paid_unbooked)
    assert set(failing) == {"expectations_booked"}
    assert "qris:CHK-UNBOOKED-qr" in failing["expectations_booked"].detail


def test_a_side_effect_left_in_the_outbox_past_the_lag_fails(
    uow: UnitOfWork, clock: FixedClock
) -> None:
    def due(seconds_ago: int) -> Callable[[Connection], None]:
        return lambda conn: conn.execute(
            text(
                "INSERT INTO outbox (kind, key, payload, next_attempt_at) VALUES"
                " ('pi.complete', :key, '{}', :at)"
            ),
            {"key": f"late-{seconds_ago}", "at": from_us(clock.now_us() - seconds_ago * 10**6)},
        )

    assert _failing(uow, due(POLICY.outbox_lag_max_s - 10)) == {}
    late = _failing(uow, due(POLICY.outbox_lag_max_s + 10))
    assert set(late) == {"outbox_moving"}
    assert "pi.complete:late-310" in late["outbox_moving"].detail


def test_a_published_reserve_figure_that_its_inputs_do_not_give_fails(uow: UnitOfWork) -> None:
    stored = reserve.compute(uow, None, "test")
    assert _results(uow)["reserve_coverage"].outcome is Outcome.HELD
    failing = _failing(
        uow,
        lambda conn: conn.execute(
            text(
                "UPDATE reserve_computations SET reserve_value_idr = reserve_value_idr + 1"
                " WHERE id = :id"
            ),
            {"id": stored.id},
        ),
    )
    assert set(failing) == {"reserve_coverage"}
    assert f"computation {stored.id} published" in failing["reserve_coverage"].detail


def test_a_published_month_whose_transfers_changed_no_longer_recomputes(
    module_conn: Connection, clock: FixedClock, tmp_path: Path
) -> None:
    uow = bind(module_conn, clock)  # the audit tests' own accounts, no checkout
    ledger = Ledger(uow.conn, clock)
    open_accounts(ledger)
    month = period_of(clock.now_us())
    post_month(ledger, clock)
    close(ledger, clock, month)
    officers_file = tmp_path / "officers.json"
    officers_file.write_text(
        json.dumps({"threshold": 1, "officers": [{"name": "officer", "public_key": "ab" * 32}]})
    )
    export_period(uow, month, tmp_path / month, KEY, load_officers(officers_file), "test")
    assert "1 published months recompute" in _results(uow)["published_digests"].detail
    changed = _failing(
        uow,
        lambda conn: _bypassing_guards(
            conn,
            "UPDATE transfers SET amount = amount + 1 WHERE code = 'test.audit'"
            " AND amount = 150000",
        ),
    )
    assert "published_digests" in changed
    assert f"{month} transfers" in changed["published_digests"].detail
    rewritten = _failing(
        uow,
        lambda conn: _bypassing_guards(conn, "UPDATE audit_digests SET digest = repeat('0', 64)"),
    )
    assert "its manifest does not hash to its digest" in rewritten["published_digests"].detail


def test_an_open_lock_is_reserved_once_and_a_lost_or_stray_reservation_is_named(
    uow: UnitOfWork,
) -> None:
    offer(uow, {30: "0.5"}, budget=10_000_000)
    position = open_lock(uow, f"p{uuid.uuid4().hex[:10]}", 30, 100_000_000)
    assert position.status == "open"
    assert "1 open positions, each reserved once" in _results(uow)["lock_reservations"].detail
    voided = _failing(
        uow,
        lambda conn: _bypassing_guards(
            conn,
            "UPDATE pending_transfers SET status = 'voided' WHERE id IN (SELECT id FROM"
            " transfers WHERE code = 'lock.reward_reserved')",
        ),
    )
    assert f"open positions without their reservation: {position.id}" in (
        voided["lock_reservations"].detail
    )
    closed = _failing(
        uow,
        lambda conn: conn.execute(
            text("UPDATE lock_positions SET status = 'matured', closed_at = now() WHERE id = :id"),
            {"id": position.id},
        ),
    )
    assert "reservations of no open position" in closed["lock_reservations"].detail
