"""Wallet watch: Pi that reached the app wallet without a completion callback is still booked.

Pi's SDK loses completions (the callback never comes; `onIncompletePaymentFound` reports a
payment without its transaction). Two scheduled passes close that gap, each idempotent:

- **approved payments**: every approved, uncompleted payment older than the delay is fetched from
  Pi again; when Pi links a transaction it is completed exactly as the callback would
  (`u2a.complete`: verified on chain, posted once, Pi `complete` queued in the outbox).
- **the wallet itself**: the app wallet's payments are read from Horizon after a stored cursor;
  each one coming in is recorded in `pi_wallet_payments` (in the transaction that moves the
  cursor) and decided once it is older than the delay: already booked (by U2A or as a custody
  deposit), or its memo names one of our payments and `u2a.complete` books it, or it is flagged
  for a person with its amount and source. A flagged payment later booked (e.g. by
  `msc pi deposit`) has its flag resolved.

The delay (``pi_watch_delay_s``) gives the normal callback and the treasurer's deposit booking
their time first. A payment's age on the wallet side is measured from its ledger's close time
against the service clock; an approved payment's from its row's last change in the database.
A booking by the watch and a late callback meet in `u2a.complete`, which posts once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import structlog
from sqlalchemy import Connection, Engine, text

from chain.pi import errors as chain_errors
from chain.pi.amounts import to_str
from chain.pi.dto import PiPayment
from chain.pi.horizon import AccountPayment, PaymentsPage
from chain.pi.ids import check_payment_id
from escrow.calendar import US_PER_S, from_us
from settlement.pi.custody import lock_txid
from settlement.pi.deps import PiDeps
from settlement.pi.errors import RETRYABLE_CODES, PiRefusal
from settlement.pi.flags import flag
from settlement.pi.u2a import STATUS_POSTED, complete
from settlement.unit_of_work import UnitOfWork, unit_of_work

log = structlog.get_logger(__name__)
T = TypeVar("T")

page_records = 50
"""Payments per Horizon page. Each carries its joined transaction; a page of large transactions
that exceeds the transport's response limit is asked for again in halves, down to one record."""
pages_per_run_max = 10
decisions_per_run_max = 100
approved_per_run_max = 50
decision_attempts_max = 20
"""Tries at deciding one wallet payment while Pi cannot answer; then it is flagged."""
FLAG_UNBOOKED = "wallet_unbooked"


@dataclass(frozen=True)
class WatchReport:
    """What one run of the watch did."""

    seen: int
    completed: int
    booked: int
    flagged: int
    resolved: int

    def summary(self) -> str:
        """One line for the schedule's outcome."""
        return (
            f"seen {self.seen}, completed {self.completed}, booked {self.booked},"
            f" flagged {self.flagged}, resolved {self.resolved}"
        )


def watch(engine: Engine, deps: PiDeps, delay_s: int) -> WatchReport:
    """Run every pass once. The scan and the resolution are one unit of work each; every due
    payment is completed or decided in a unit of its own, so its locks are held for its own
    network calls only and one payment that fails keeps the others."""
    seen = _pass(engine, deps, "scan", lambda uow: scan_wallet(uow, deps), 0)
    none: list[str] = []
    approved = _pass(engine, deps, "approved", lambda uow: approved_due(uow, delay_s), none)
    completed = _each(
        engine, deps, "approved", approved, lambda uow, key: complete_approved_one(uow, deps, key)
    ).count("booked")
    due = _pass(engine, deps, "decide", lambda uow: incoming_due(uow, deps, delay_s), none)
    decided = _each(engine, deps, "decide", due, lambda uow, key: decide_one(uow, deps, key))
    booked, flagged = decided.count("booked"), decided.count("flagged")
    resolved = _pass(engine, deps, "resolve", resolve_booked, 0)
    report = WatchReport(seen, completed, booked, flagged, resolved)
    if seen or completed or booked or flagged or resolved:
        log.info("pi_wallet_watch", **report.__dict__)
    return report


def _each(
    engine: Engine,
    deps: PiDeps,
    name: str,
    keys: list[str],
    work: Callable[[UnitOfWork, str], str],
) -> list[str]:
    """``work`` for each key in a unit of work of its own; stops when Pi cannot be reached."""
    outcomes: list[str] = []
    for key in keys:
        outcome = _pass(engine, deps, name, partial(_keyed, work, key), "unavailable")
        outcomes.append(outcome)
        if outcome == "unavailable":
            break
    return outcomes


def _keyed(work: Callable[[UnitOfWork, str], str], key: str, uow: UnitOfWork) -> str:
    return work(uow, key)


def _pass(engine: Engine, deps: PiDeps, name: str, work: Callable[[UnitOfWork], T], idle: T) -> T:
    """One pass in its own unit of work. Pi or Horizon unreachable skips it until the next run;
    any other answer of theirs that cannot be used is logged for a person and skips only this
    pass, so one bad record never stops the other passes."""
    try:
        with unit_of_work(engine, deps.clock) as uow:
            return work(uow)
    except chain_errors.PiTransientError as exc:
        log.warning("pi_wallet_watch_deferred", step=name, error=str(exc))
    except chain_errors.PiError as exc:
        log.error("pi_wallet_watch_refused", step=name, code=exc.code, error=str(exc))
    return idle


# --- the wallet's payments on Horizon -------------------------------------------------------


def _page(deps: PiDeps, address: str, cursor: str) -> PaymentsPage:
    """The next page after ``cursor``; an answer too large to read is asked for in halves."""
    limit = page_records
    while True:
        try:
            return deps.chain.payments_for_account(address, cursor, limit)
        except chain_errors.PiResponseError:
            if limit == 1:
                raise
            limit //= 2


def scan_wallet(uow: UnitOfWork, deps: PiDeps) -> int:
    """Record the wallet's incoming payments after the cursor and move it; how many were new."""
    address, conn = deps.app_address, uow.conn
    conn.execute(
        text(
            "INSERT INTO pi_wallet_cursors (address, paging_token) VALUES (:a, '')"
            " ON CONFLICT DO NOTHING"
        ),
        {"a": address},
    )
    cursor = str(
        conn.execute(
            text("SELECT paging_token FROM pi_wallet_cursors WHERE address = :a FOR UPDATE"),
            {"a": address},
        ).scalar_one()
    )
    seen = 0
    for _ in range(pages_per_run_max):
        page = _page(deps, address, cursor)
        seen += sum(_record(conn, address, record) for record in page.records)
        if page.records:
            cursor = page.records[-1].paging_token
        if len(page.records) < page_records:
            break
    conn.execute(
        text(
            "UPDATE pi_wallet_cursors SET paging_token = :c, updated_at = now() WHERE address = :a"
        ),
        {"c": cursor, "a": address},
    )
    return seen


def _record(conn: Connection, address: str, payment: AccountPayment) -> int:
    """Keep a payment that came into the wallet (not one it sent, nor a failed one)."""
    if not payment.successful or payment.to_address not in (None, address):
        return 0
    if payment.from_address == address and payment.to_address is None:
        return 0
    inserted = conn.execute(
        text(
            "INSERT INTO pi_wallet_payments (operation_id, address, txid, kind, from_address,"
            " asset_type, amount_units, memo, closed_at) VALUES (:op, :address, :txid, :kind,"
            " :source, :asset, :units, :memo, :closed) ON CONFLICT DO NOTHING RETURNING 1"
        ),
        {
            "op": payment.paging_token,
            "address": address,
            "txid": payment.txid,
            "kind": payment.kind,
            "source": payment.from_address,
            "asset": payment.asset_type,
            "units": payment.amount_units,
            "memo": _storable(payment.memo),
            "closed": payment.created_at,
        },
    ).first()
    return 0 if inserted is None else 1


def _storable(memo: str | None) -> str | None:
    """The memo as PostgreSQL text holds it: a NUL (any byte may sit in a memo) is replaced, so a
    crafted memo can never stop the scan."""
    return memo.replace("\x00", "\ufffd") if memo is not None else None


@dataclass(frozen=True)
class _Incoming:
    address: str
    operation_id: str
    txid: str
    kind: str
    from_address: str
    asset_type: str
    amount_units: int | None
    memo: str | None
    attempts: int


def decide_incoming(uow: UnitOfWork, deps: PiDeps, delay_s: int) -> tuple[int, int]:
    """Book or flag each pending wallet payment older than the delay, in this one unit of
    work; (booked, flagged). The scheduled job decides each in a unit of its own instead."""
    booked = flagged = 0
    for operation_id in incoming_due(uow, deps, delay_s):
        outcome = decide_one(uow, deps, operation_id)
        booked += outcome == "booked"
        flagged += outcome == "flagged"
        if outcome == "unavailable":
            break
    return booked, flagged


def incoming_due(uow: UnitOfWork, deps: PiDeps, delay_s: int) -> list[str]:
    """The operation ids of the pending wallet payments older than the delay, oldest first."""
    due_before = from_us(uow.clock.now_us() - delay_s * US_PER_S)
    return [
        str(operation_id)
        for operation_id in uow.conn.execute(
            text(
                "SELECT operation_id FROM pi_wallet_payments WHERE status = 'pending'"
                " AND address = :a AND closed_at <= :due ORDER BY closed_at, operation_id"
                " LIMIT :n"
            ),
            {"a": deps.app_address, "due": due_before, "n": decisions_per_run_max},
        ).scalars()
    ]


def decide_one(uow: UnitOfWork, deps: PiDeps, operation_id: str) -> str:
    """Book or flag one pending wallet payment, unless another run holds or decided it."""
    row = uow.conn.execute(
        text(
            "SELECT address, operation_id, txid, kind, from_address, asset_type, amount_units,"
            " memo, attempts FROM pi_wallet_payments WHERE address = :a AND operation_id = :o"
            " AND status = 'pending' FOR UPDATE SKIP LOCKED"
        ),
        {"a": deps.app_address, "o": operation_id},
    ).one_or_none()
    return "skipped" if row is None else _decide(uow, deps, _Incoming(**row._mapping))


def _decide(uow: UnitOfWork, deps: PiDeps, payment: _Incoming) -> str:
    conn = uow.conn
    payment_id = _our_payment(conn, payment.memo)
    if payment_id is None:
        lock_txid(conn, payment.txid)  # `msc pi deposit` may be booking this transaction now
    booked_as = _booked_as(conn, payment.txid)
    if booked_as is not None:
        _close(conn, payment, "booked", booked_as)
        return "booked"
    if payment_id is None:
        code = "pi_no_memo" if payment.memo is None else "pi_unknown_memo"
    else:
        try:
            # complete takes its locks in the callback's order (payment, expectation, txid), so
            # a callback racing this decision waits instead of deadlocking; it posts once.
            with conn.begin_nested():
                complete(uow, deps, payment_id, payment.txid, None)
        except PiRefusal as refusal:
            code = refusal.code
        else:
            _close(conn, payment, "booked", "u2a")
            log.info("pi_wallet_payment_booked", payment_id=payment_id, txid=payment.txid)
            return "booked"
        if code in RETRYABLE_CODES and payment.attempts + 1 < decision_attempts_max:
            _retry_later(conn, payment)
            return "unavailable" if code == "pi_unavailable" else "pending"
    _flag_unbooked(conn, payment, payment_id, code)
    _close(conn, payment, "flagged", None)
    return "flagged"


def _booked_as(conn: Connection, txid: str) -> str | None:
    """How the ledger already holds this transaction: as a U2A receipt or a custody deposit."""
    found = conn.execute(
        text(
            "SELECT 'u2a' FROM pi_payments WHERE txid = :txid AND status IN (:posted, 'completed')"
            " UNION ALL SELECT 'deposit' FROM pi_custody_deposits WHERE txid = :txid LIMIT 1"
        ),
        {"txid": txid, "posted": STATUS_POSTED},
    ).scalar_one_or_none()
    return None if found is None else str(found)


def _our_payment(conn: Connection, memo: str | None) -> str | None:
    """The payment id the memo names, when it is one we approved (whatever its status now)."""
    try:
        payment_id = check_payment_id(memo or "")
    except chain_errors.PiInputError:
        return None
    found = conn.execute(
        text("SELECT payment_id FROM pi_payments WHERE payment_id = :payment_id"),
        {"payment_id": payment_id},
    ).scalar_one_or_none()
    return None if found is None else str(found)


def _flag_unbooked(conn: Connection, payment: _Incoming, payment_id: str | None, code: str) -> None:
    """Flag for a person, unless a flag already names this transaction (e.g. U2A recovery's)."""
    named = conn.execute(
        text("SELECT 1 FROM pi_flags WHERE txid = :txid AND resolved_at IS NULL LIMIT 1"),
        {"txid": payment.txid},
    ).first()
    if named is not None:
        return
    units = payment.amount_units
    detail: dict[str, object] = {
        "code": code,
        "amount": to_str(units) if units is not None else None,
        "amount_units": units,
        "asset_type": payment.asset_type,
        "from": payment.from_address,
        "memo": payment.memo,
        "kind": payment.kind,
        "operation_id": payment.operation_id,
        "payment_id": payment_id,
    }
    key = _flag_key(payment.address, payment.operation_id)
    flag(conn, key, payment.txid, FLAG_UNBOOKED, detail)
    log.warning("pi_wallet_payment_flagged", txid=payment.txid, code=code, amount_units=units)


def _flag_key(address: str, operation_id: str) -> str:
    """A wallet flag names the Horizon operation and the wallet: a stray has no payment id."""
    return f"op:{operation_id}:{address}"


def _close(conn: Connection, payment: _Incoming, status: str, booked_as: str | None) -> None:
    conn.execute(
        text(
            "UPDATE pi_wallet_payments SET status = :s, booked_as = :b, decided_at = now(),"
            " attempts = attempts + 1 WHERE address = :a AND operation_id = :op"
        ),
        {"s": status, "b": booked_as, "a": payment.address, "op": payment.operation_id},
    )


def _retry_later(conn: Connection, payment: _Incoming) -> None:
    conn.execute(
        text(
            "UPDATE pi_wallet_payments SET attempts = attempts + 1"
            " WHERE address = :a AND operation_id = :op"
        ),
        {"a": payment.address, "op": payment.operation_id},
    )


def resolve_booked(uow: UnitOfWork) -> int:
    """Flagged wallet payments booked since (e.g. by `msc pi deposit`): resolve their flags."""
    conn = uow.conn
    rows = conn.execute(
        text(
            "SELECT w.address, w.operation_id,"
            " CASE WHEN d.txid IS NOT NULL THEN 'deposit' ELSE 'u2a' END AS booked_as"
            " FROM pi_wallet_payments w"
            " LEFT JOIN pi_custody_deposits d ON d.txid = w.txid"
            " LEFT JOIN pi_payments p ON p.txid = w.txid AND p.status IN (:posted, 'completed')"
            " WHERE w.status = 'flagged' AND (d.txid IS NOT NULL OR p.txid IS NOT NULL)"
            " LIMIT :n FOR UPDATE OF w SKIP LOCKED"
        ),
        {"n": decisions_per_run_max, "posted": STATUS_POSTED},
    ).all()
    for row in rows:
        address, operation_id, booked_as = row.address, row.operation_id, row.booked_as
        conn.execute(
            text(
                "UPDATE pi_wallet_payments SET status = 'booked', booked_as = :b"
                " WHERE address = :a AND operation_id = :op"
            ),
            {"b": booked_as, "a": address, "op": operation_id},
        )
        conn.execute(
            text(
                "UPDATE pi_flags SET resolved_at = now() WHERE payment_id = :key"
                " AND reason = :reason AND resolved_at IS NULL"
            ),
            {"key": _flag_key(address, operation_id), "reason": FLAG_UNBOOKED},
        )
    return len(rows)


# --- approved payments on Pi ----------------------------------------------------------------


def complete_approved(uow: UnitOfWork, deps: PiDeps, delay_s: int) -> int:
    """Fetch approved, uncompleted payments again and complete those whose transaction Pi now
    links, in this one unit of work; how many were booked. The scheduled job completes each in
    a unit of its own instead."""
    completed = 0
    for payment_id in approved_due(uow, delay_s):
        outcome = complete_approved_one(uow, deps, payment_id)
        completed += outcome == "booked"
        if outcome == "unavailable":
            break
    return completed


_APPROVED_DUE = (
    "status = 'approved' AND updated_at <= now() - make_interval(secs => :delay)"
    " AND NOT EXISTS (SELECT 1 FROM pi_flags f WHERE f.payment_id = p.payment_id"
    " AND f.resolved_at IS NULL)"
)
"""Approved, waited the delay, and no open flag (a person already looks at those)."""


def approved_due(uow: UnitOfWork, delay_s: int) -> list[str]:
    """The approved payments to fetch again, longest waiting first."""
    return [
        str(payment_id)
        for payment_id in uow.conn.execute(
            text(
                f"SELECT payment_id FROM pi_payments p WHERE {_APPROVED_DUE}"  # noqa: S608 - constant
                " ORDER BY updated_at, payment_id LIMIT :n"
            ),
            {"delay": delay_s, "n": approved_per_run_max},
        ).scalars()
    ]


def complete_approved_one(uow: UnitOfWork, deps: PiDeps, payment_id: str) -> str:
    """Fetch one approved payment again and complete it if Pi links its transaction, unless
    another run holds it or it is no longer due (delay 0: it was listed as due just now)."""
    held = uow.conn.execute(
        text(
            "SELECT payment_id FROM pi_payments p WHERE payment_id = :payment_id"
            " AND status = 'approved' FOR UPDATE SKIP LOCKED"
        ),
        {"payment_id": payment_id},
    ).one_or_none()
    return "skipped" if held is None else _complete_one(uow, deps, payment_id)


def _complete_one(uow: UnitOfWork, deps: PiDeps, payment_id: str) -> str:
    conn = uow.conn
    try:
        payment = deps.platform.get_payment(payment_id)
    except chain_errors.PiTransientError:
        return "unavailable"
    except chain_errors.PiError as exc:
        log.warning("pi_approved_refetch_failed", payment_id=payment_id, code=exc.code)
        _touch(conn, payment_id)
        return "skipped"
    if payment.transaction is None:
        return _without_transaction(conn, payment)
    txid = payment.transaction.txid
    try:
        with conn.begin_nested():
            complete(uow, deps, payment_id, txid, None)
    except PiRefusal as refusal:
        _touch(conn, payment_id)
        if refusal.code in RETRYABLE_CODES:
            return "unavailable" if refusal.code == "pi_unavailable" else "awaiting"
        detail = {
            "detail": refusal.detail,
            "amount_units": payment.amount_units,
            "from": payment.from_address,
        }
        flag(conn, payment_id, txid, refusal.code, detail)
        log.warning("pi_approved_payment_flagged", payment_id=payment_id, code=refusal.code)
        return "flagged"
    log.info("pi_approved_payment_booked", payment_id=payment_id, txid=txid)
    return "booked"


def _without_transaction(conn: Connection, payment: PiPayment) -> str:
    """Pi links no transaction yet: cancelled on Pi's side stops the polling, else wait."""
    if not payment.status.any_cancelled:
        _touch(conn, payment.payment_id)
        return "awaiting"
    conn.execute(
        text(
            "UPDATE pi_payments SET status = 'cancelled', updated_at = now()"
            " WHERE payment_id = :payment_id AND status = 'approved'"
        ),
        {"payment_id": payment.payment_id},
    )
    log.info("pi_approved_payment_cancelled", payment_id=payment.payment_id)
    return "cancelled"


def _touch(conn: Connection, payment_id: str) -> None:
    """Checked now: the next check of this payment waits another delay."""
    conn.execute(
        text("UPDATE pi_payments SET updated_at = now() WHERE payment_id = :payment_id"),
        {"payment_id": payment_id},
    )
