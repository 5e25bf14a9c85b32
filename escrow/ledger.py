"""The ledger on PostgreSQL: the one repository through which value moves.

A batch is planned in Python (``escrow.rules``) against the rows it locks, and stored with one
INSERT (or COPY) of its OK transfers; a statement trigger then applies the batch to the account
totals in one aggregated UPDATE and re-checks every invariant. The caller owns the transaction:
nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Row

from escrow.chart import AccountPolicy
from escrow.clock import Clock, SystemClock
from escrow.errors import (
    AccountNotFound,
    InvalidTransfer,
    InvariantViolation,
    LedgerConflict,
    PeriodNotClosable,
)
from escrow.known_accounts import KnownAccounts, note
from escrow.model import (
    Account,
    AccountFlags,
    AccountKind,
    Balance,
    Result,
    ResultCode,
    TransferFlags,
    TransferRecord,
    TransferRequest,
    TrialBalanceLine,
    amount_max,
    require_same_account,
)
from escrow.periods import ClosedPeriod, period
from escrow.rules import (
    AccountState,
    NewTransfer,
    PendingState,
    PendingStatus,
    Snapshot,
    accounts_page_max,
    batch_transfers_max,
    clock_lag_max_us,
    expiry_void,
    plan_batch,
)
from escrow.sql import sql

history_page_max = 1000

_LOCK_AND_CLOCK = """
    WITH locked AS MATERIALIZED (
        SELECT id, code, asset, flags, debits_pending, debits_posted, credits_pending,
               credits_posted
        FROM accounts
        WHERE code = ANY(%(codes)s) OR id = ANY(%(pending_accounts)s)
        ORDER BY id
        FOR NO KEY UPDATE
    )
    SELECT s.closed_through_us,
           CASE WHEN %(allocate)s THEN ledger_take_timestamps(
               %(n)s, %(now)s, %(lag)s, (SELECT count(*) FROM locked)) END,
           NULL::bigint, NULL::text, NULL::text, NULL::integer,
           NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint
    FROM ledger_state s WHERE s.id = 1
    UNION ALL
    SELECT NULL, NULL, l.* FROM locked l
"""
"""One round trip: lock the accounts in id order, then (only then: the count of locked rows is an
argument) take the batch's timestamps; the first row carries the boundary and the timestamps,
the others the accounts. One relation with two index scans: a semi-join in the lock query
would be rechecked wrongly after a lock wait. No row lock on ledger_state: the insert trigger
re-reads the boundary, and a close locks the transfers table against writers."""
_PENDING_ACCOUNTS = """
    SELECT debit_account_id, credit_account_id FROM pending_transfers WHERE id = ANY(%(pending)s)
"""
_PLAIN_TRANSFER = """
    WITH locked AS MATERIALIZED (
        SELECT id, code, asset, flags, debits_pending, debits_posted, credits_pending,
               credits_posted
        FROM accounts WHERE code = %(debit)s OR code = %(credit)s ORDER BY id FOR NO KEY UPDATE
    ), clock AS MATERIALIZED (
        SELECT CASE WHEN (SELECT last_value FROM ledger_ts_seq) < %(now)s - %(lag)s
                    THEN (ledger_take_timestamps(1, %(now)s, %(lag)s, after.locks))[1]
                    ELSE nextval('ledger_ts_seq') END AS ts
        FROM (SELECT count(*) AS locks FROM locked) AS after
    ), inserted AS (
    INSERT INTO transfers (id, ts, debit_account_id, credit_account_id, amount, asset, code,
                           flags, pending_id, timeout_s, external_ref, user_data)
    SELECT %(id)s, clock.ts, d.id, c.id, %(amount)s, %(asset)s, %(code)s, 0, NULL, 0,
           %(external_ref)s, %(user_data)s
    FROM clock, locked d, locked c, ledger_state s
    WHERE d.code = %(debit)s AND c.code = %(credit)s AND s.id = 1
      AND d.asset = %(asset)s AND c.asset = %(asset)s
      AND clock.ts > s.closed_through_us
      AND %(amount)s <= %(amount_max)s - d.debits_posted - d.debits_pending
      AND %(amount)s <= %(amount_max)s - c.credits_posted - c.credits_pending
      AND (d.flags & 1 = 0 OR d.debits_pending + d.debits_posted <= d.credits_posted - %(amount)s)
      AND (c.flags & 2 = 0 OR c.credits_pending + c.credits_posted <= c.debits_posted - %(amount)s)
    ON CONFLICT (id) DO NOTHING
    RETURNING ts
    )
    SELECT clock.ts, (SELECT count(*) FROM inserted) FROM clock
"""
"""A plain transfer in one statement: inserted only when it passes every check the rules would
make of it; otherwise no row comes back and the rules decide (and name) the outcome."""
_REFUSED_IF_AN_ID_WAS_STORED = (pg_errors.CheckViolation, pg_errors.UniqueViolation)
_LOCK_PENDING = """
    SELECT id, debit_account_id, credit_account_id, amount, asset, expires_at_us, status
    FROM pending_transfers WHERE id = ANY(%(pending)s) ORDER BY id FOR UPDATE
"""
_SELECT_RECORDS = """
    SELECT t.id, t.ts, (SELECT code FROM accounts WHERE id = t.debit_account_id),
           (SELECT code FROM accounts WHERE id = t.credit_account_id), t.amount, t.asset, t.code,
           t.flags, t.pending_id, t.timeout_s, t.external_ref, t.user_data
    FROM transfers t
"""
"""Account codes by scalar subquery, per row found: a join makes the prepared (generic) plan hash
the whole accounts table on every call, O(accounts) per post."""


_ACCOUNT_COLUMNS = (
    "id, code, asset, kind, owner, flags, debits_pending, debits_posted, credits_pending,"
    " credits_posted"
)


def _uuid_int(value: uuid.UUID) -> int:
    return value.int


_FLAGS = {int(flags): flags for flags in map(AccountFlags, range(4))}
_STATUSES = {status.value: status for status in PendingStatus}
"""The enum members by stored value: a dict lookup, where calling the enum costs more than the
rest of reading a row (a snapshot reads a page of accounts and holds)."""


def _flags(value: int) -> AccountFlags:
    return _FLAGS[value] if value in _FLAGS else AccountFlags(value)


def _status(value: str) -> PendingStatus:
    return _STATUSES[value] if value in _STATUSES else PendingStatus(value)


def _account_of(row: Row[Any]) -> Account:
    """An ``accounts`` row (selected as ``_ACCOUNT_COLUMNS``), read by name."""
    return Account(
        row.id,
        row.code,
        row.asset,
        AccountKind(row.kind),
        row.owner,
        AccountFlags(row.flags),
        row.debits_pending,
        row.debits_posted,
        row.credits_pending,
        row.credits_posted,
    )


class Ledger:
    """Accounts and transfers on one SQLAlchemy connection, inside the caller's transaction."""

    def __init__(
        self,
        conn: Connection,
        clock: Clock | None = None,
        policy: AccountPolicy | None = None,
        known: KnownAccounts | None = None,
    ) -> None:
        self._conn = conn
        self._clock = clock or SystemClock()
        self._policy = policy
        self._known = known

    def ensure_open(
        self,
        code: str,
        asset: str,
        kind: AccountKind,
        owner: str | None = None,
        flags: AccountFlags = AccountFlags.NONE,
    ) -> None:
        """``ensure_account`` for a caller that needs no balance: an account already known to be
        committed with this shape (``escrow.known_accounts``) costs no statement at all."""
        if self._policy is not None:
            self._policy.check_account(code, asset, kind, flags)
        if self._known is not None and self._known.knows(code, asset, kind, flags):
            return
        self.ensure_account(code, asset, kind, owner, flags)

    def ensure_account(
        self,
        code: str,
        asset: str,
        kind: AccountKind,
        owner: str | None = None,
        flags: AccountFlags = AccountFlags.NONE,
    ) -> Account:
        """Open the account if it does not exist; if it does, it must be the same account.

        With a ``policy`` (the chart of accounts), an undeclared account is refused first.
        An account that exists (nearly always) costs one read, not an insert and a read.
        """
        if self._policy is not None:
            self._policy.check_account(code, asset, kind, flags)
        try:
            existing = self.account(code)
        except AccountNotFound:
            pass
        else:
            note(self._conn, require_same_account(existing, asset, kind, flags))
            return existing
        self._conn.execute(
            sql(
                "INSERT INTO accounts (code, asset, kind, owner, flags) "
                "VALUES (:code, :asset, :kind, :owner, :flags) ON CONFLICT (code) DO NOTHING"
            ),
            {"code": code, "asset": asset, "kind": str(kind), "owner": owner, "flags": int(flags)},
        )
        opened = require_same_account(self.account(code), asset, kind, flags)
        note(self._conn, opened)
        return opened

    def account(self, code: str) -> Account:
        """The account with this code, with its current totals."""
        row = self._conn.execute(
            sql(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE code = :code"),  # noqa: S608 - constant columns
            {"code": code},
        ).one_or_none()
        if row is None:
            raise AccountNotFound(code)
        return _account_of(row)

    def accounts(self, after_code: str = "", limit: int = accounts_page_max) -> list[Account]:
        """Accounts in code order after ``after_code``, at most ``limit`` (a page)."""
        rows = self._conn.execute(
            sql(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE code > :after"  # noqa: S608 - constant columns
                " ORDER BY code LIMIT :limit"
            ),
            {"after": after_code, "limit": min(limit, accounts_page_max)},
        ).all()
        return [_account_of(row) for row in rows]

    def post(self, request: TransferRequest) -> Result:
        """Post one transfer; see ``post_batch``."""
        return self.post_batch([request])[0]

    def post_batch(self, requests: Sequence[TransferRequest]) -> list[Result]:
        """Post a batch: one result per request, in order; linked chains are all-or-nothing.

        Raises ``LedgerConflict`` when a concurrent transaction raced this one (retry the whole
        transaction) and ``InvariantViolation`` when the database refuses what the rules allowed.
        """
        if not requests:
            return []
        if len(requests) > batch_transfers_max:
            raise InvalidTransfer(f"a batch holds at most {batch_transfers_max} transfers")
        if self._policy is not None:
            for request in requests:
                self._policy.check_transfer_code(request.code)
        raw = self._driver()
        try:
            return self._post(raw, requests)
        except (pg_errors.UniqueViolation, pg_errors.DeadlockDetected) as race:
            raise LedgerConflict(str(race)) from race
        except pg_errors.SerializationFailure as race:
            raise LedgerConflict(str(race)) from race
        except (pg_errors.CheckViolation, pg_errors.RaiseException) as refused:
            raise InvariantViolation(str(refused)) from refused

    def _post(
        self, raw: psycopg.Connection[Any], requests: Sequence[TransferRequest]
    ) -> list[Result]:
        """Plan optimistically as if every id were new; replan only if one was stored already.

        Looking every id up first would cost an index probe per transfer on every batch, for
        the rare retry. Instead the insert skips stored ids (``ON CONFLICT DO NOTHING``) and a
        short count sends the batch back, from a savepoint taken after the locks, to be planned
        again with the stored transfers known.
        """
        if len(requests) == 1 and _plain(requests[0]):
            result, ts = self._try_plain(raw, requests[0])
            if result is not None:
                return [result]
            return self._replan(raw, requests, [ts], savepoint=False)
        savepoint = len(requests) > 1
        snap, timestamps = self._snapshot(raw, requests, savepoint=savepoint)
        plan = plan_batch(requests, snap, timestamps)
        refused = [r.id for r in plan.results if not r.ok]
        try:
            inserted = _insert(raw, plan.rows, skip_stored=not savepoint)
        except _REFUSED_IF_AN_ID_WAS_STORED:
            # A stored id the plan took as new can make a later row of the batch overdraw or
            # resolve a pending twice; the database refuses it, and the replan below knows.
            if not savepoint:
                raise
            inserted = -1
        if inserted == len(plan.rows) and not (refused and _any_stored(raw, refused)):
            if savepoint:
                raw.execute("RELEASE SAVEPOINT ledger_batch")
            return plan.results
        if savepoint:
            raw.execute("ROLLBACK TO SAVEPOINT ledger_batch")
        return self._replan(raw, requests, timestamps, savepoint)

    def _replan(
        self,
        raw: psycopg.Connection[Any],
        requests: Sequence[TransferRequest],
        timestamps: list[int],
        savepoint: bool,
    ) -> list[Result]:
        """Plan again, knowing the stored ids, with the timestamps the batch already took."""
        snap, _ = self._snapshot(raw, requests, savepoint=False, reuse=timestamps)
        plan = plan_batch(requests, snap, timestamps)
        if _insert(raw, plan.rows, skip_stored=True) != len(plan.rows):
            raise LedgerConflict("a concurrent transaction stored one of this batch's ids")
        if savepoint:
            raw.execute("RELEASE SAVEPOINT ledger_batch")
        return plan.results

    def _try_plain(
        self, raw: psycopg.Connection[Any], request: TransferRequest
    ) -> tuple[Result | None, int]:
        """One plain transfer in one statement, or None to decide it by the rules; its timestamp.

        A plain transfer (no flags, no pending) is what most postings are, and its checks are
        few: the accounts exist with its asset, the period is open, nothing overflows, the
        balance limits hold. The statement locks and dates it as a batch would and inserts it
        only when all of these hold; the rules (``escrow.rules``) stay the reference: any
        transfer this path leaves alone (including a stored id) goes through them, and the
        property tests compare both paths with the in-memory ledger.
        """
        params = {
            "debit": request.debit,
            "credit": request.credit,
            "now": self._clock.now_us(),
            "lag": clock_lag_max_us,
            "id": request.id,
            "amount": request.amount,
            "amount_max": amount_max,
            "asset": request.asset,
            "code": request.code,
            "external_ref": request.external_ref,
            "user_data": Jsonb(request.user_data) if request.user_data else None,
        }
        row = raw.execute(_PLAIN_TRANSFER, params).fetchone()
        if row is None:
            raise InvariantViolation("the plain-transfer statement returned no row")
        ts, inserted = int(row[0]), int(row[1])
        return (Result(request.id, ResultCode.OK, ts) if inserted else None), ts

    def transfer(self, transfer_id: uuid.UUID) -> TransferRecord | None:
        """The stored transfer with this id, if any."""
        records = _records_by_id(self._driver(), [transfer_id])
        return records.get(transfer_id)

    def balance(self, code: str, at_ts: int | None = None) -> Balance:
        """The account's balance now, or as it stood at ledger timestamp ``at_ts``."""
        account = self.account(code)
        if at_ts is None:
            return Balance(
                account.kind,
                account.debits_posted,
                account.credits_posted,
                account.debits_pending,
                account.credits_pending,
            )
        row = self._conn.execute(sql(_BALANCE_AT), {"id": account.id, "at": at_ts}).one()
        return Balance(account.kind, *(int(v) for v in row))

    def history(self, code: str, after_ts: int = 0, limit: int = 100) -> list[TransferRecord]:
        """The account's transfers in ledger order, a page at a time (resume from the last ts)."""
        if not 0 < limit <= history_page_max:
            raise InvalidTransfer(f"page size must be 1..{history_page_max}")
        account = self.account(code)
        with self._driver().cursor() as cur:
            cur.execute(
                _SELECT_RECORDS + " WHERE (t.debit_account_id = %(id)s OR t.credit_account_id = "
                "%(id)s) AND t.ts > %(after)s ORDER BY t.ts LIMIT %(limit)s",
                {"id": account.id, "after": after_ts, "limit": limit},
            )
            return [_record(row) for row in cur.fetchall()]

    def trial_balance(self) -> list[TrialBalanceLine]:
        """Per asset, the sums of all accounts' totals."""
        rows = self._conn.execute(
            sql(
                "SELECT a.code, coalesce(sum(x.debits_posted), 0),"
                " coalesce(sum(x.credits_posted), 0), coalesce(sum(x.debits_pending), 0),"
                " coalesce(sum(x.credits_pending), 0)"
                " FROM assets a LEFT JOIN accounts x ON x.asset = a.code GROUP BY a.code"
                " ORDER BY a.code"
            )
        ).all()
        return [TrialBalanceLine(r[0], *(int(v) for v in r[1:])) for r in rows]

    def close_period(self, name: str, closed_by: str) -> ClosedPeriod:
        """Close a month (WIB) that has ended: from now on nothing is dated inside it."""
        month = period(name)
        if self._clock.now_us() <= month.ends_at_us:
            raise PeriodNotClosable(f"{name} has not ended yet")
        # Waits for every transaction that is writing transfers and holds new writers until this
        # close commits; a writer that read the old boundary is then refused by the trigger.
        self._conn.execute(sql("LOCK TABLE transfers IN SHARE MODE"))
        # Bring the timestamp sequence up to the clock, so nothing allocated after this close
        # (within the sequence's usual lag) can be dated inside the closed month.
        self._conn.execute(
            sql("SELECT ledger_clock_catch_up(:now, 0)"), {"now": self._clock.now_us()}
        )
        closed_through = self._conn.execute(
            sql("SELECT closed_through_us FROM ledger_state WHERE id = 1 FOR UPDATE")
        ).scalar_one()
        count = self._conn.execute(
            sql("SELECT count(*) FROM transfers WHERE ts BETWEEN :start AND :end"),
            {"start": month.starts_at_us, "end": month.ends_at_us},
        ).scalar_one()
        self._conn.execute(
            sql(
                "INSERT INTO ledger_periods (period, starts_at_us, ends_at_us, transfer_count,"
                " closed_by) VALUES (:p, :s, :e, :n, :by) ON CONFLICT (period) DO NOTHING"
            ),
            {
                "p": name,
                "s": month.starts_at_us,
                "e": month.ends_at_us,
                "n": count,
                "by": closed_by,
            },
        )
        if month.ends_at_us > closed_through:
            self._conn.execute(
                sql("UPDATE ledger_state SET closed_through_us = :t WHERE id = 1"),
                {"t": month.ends_at_us},
            )
        return ClosedPeriod(month, int(count))

    def void_expired(self, limit: int = batch_transfers_max) -> int:
        """Void pending transfers whose timeout has passed; how many were voided.

        Each void has an id derived from its pending transfer, so two sweepers racing each other
        (or a retried sweep) void it once.
        """
        rows = self._conn.execute(
            sql(
                "SELECT id, asset FROM pending_transfers WHERE status = 'pending'"
                " AND expires_at_us <= :now ORDER BY expires_at_us, id LIMIT :limit"
            ),
            {"now": self._clock.now_us(), "limit": min(limit, batch_transfers_max)},
        ).all()
        results = self.post_batch([expiry_void(row[0], row[1]) for row in rows])
        return sum(1 for result in results if result.code is ResultCode.OK)

    def _driver(self) -> psycopg.Connection[Any]:
        raw = self._conn.connection.driver_connection
        if not isinstance(raw, psycopg.Connection):
            raise InvariantViolation("the ledger runs on psycopg 3 connections only")
        return raw

    def _snapshot(
        self,
        raw: psycopg.Connection[Any],
        requests: Sequence[TransferRequest],
        savepoint: bool,
        reuse: list[int] | None = None,
    ) -> tuple[Snapshot, list[int]]:
        """Lock what the batch touches (accounts in id order), then read it: one round trip.

        Resolving pending transfers costs two more: learning their accounts, locking them.
        A replan (``reuse`` given) keeps the batch's timestamps and reads the stored ids.
        """
        with_existing = reuse is not None
        codes = sorted({c for r in requests for c in (r.debit, r.credit) if c})
        pending_ids = sorted(  # by the int a UUID compares by: the same order, a tenth the time
            {r.pending_id for r in requests if r.pending_id is not None}, key=_uuid_int
        )
        pending_accounts: list[int] = []
        if pending_ids:
            rows = raw.execute(_PENDING_ACCOUNTS, {"pending": pending_ids}).fetchall()
            pending_accounts = sorted({account for row in rows for account in row})
        params = {
            "codes": codes,
            "pending_accounts": pending_accounts,
            "pending": pending_ids,
            "allocate": reuse is None,
            "lag": clock_lag_max_us,
            "n": len(requests),
            "now": self._clock.now_us(),
            "ids": list({r.id for r in requests}),
        }
        rows = raw.execute(_LOCK_AND_CLOCK, params).fetchall()
        states = [row for row in rows if row[2] is None]
        if len(states) != 1:
            raise InvariantViolation("ledger_state row is missing")
        closed_through, taken = int(states[0][0]), states[0][1]
        accounts = {
            row[3]: AccountState(row[2], row[3], row[4], _flags(row[5]), *row[6:])
            for row in rows
            if row[2] is not None
        }
        pendings = {
            row[0]: PendingState(row[0], row[1], row[2], row[3], row[4], row[5], _status(row[6]))
            for row in (raw.execute(_LOCK_PENDING, params).fetchall() if pending_ids else [])
        }
        stored = (
            raw.execute(_SELECT_RECORDS + " WHERE t.id = ANY(%(ids)s)", params).fetchall()
            if with_existing
            else []
        )
        if savepoint:
            raw.execute("SAVEPOINT ledger_batch")
        existing = {record.id: record for record in map(_record, stored)}
        timestamps = reuse if reuse is not None else [int(ts) for ts in taken]
        return Snapshot(accounts, pendings, existing, closed_through), timestamps


_BALANCE_AT = """
    SELECT
      coalesce(sum(t.amount) FILTER (WHERE t.debit_account_id = :id AND t.flags IN (0, 4)), 0),
      coalesce(sum(t.amount) FILTER (WHERE t.credit_account_id = :id AND t.flags IN (0, 4)), 0),
      (SELECT coalesce(sum(p.amount), 0) FROM pending_transfers p
         JOIN transfers c ON c.id = p.id LEFT JOIN transfers r ON r.id = p.resolved_by
        WHERE p.debit_account_id = :id AND c.ts <= :at AND (r.ts IS NULL OR r.ts > :at)),
      (SELECT coalesce(sum(p.amount), 0) FROM pending_transfers p
         JOIN transfers c ON c.id = p.id LEFT JOIN transfers r ON r.id = p.resolved_by
        WHERE p.credit_account_id = :id AND c.ts <= :at AND (r.ts IS NULL OR r.ts > :at))
    FROM transfers t
    WHERE (t.debit_account_id = :id OR t.credit_account_id = :id) AND t.ts <= :at
"""


def _records_by_id(
    raw: psycopg.Connection[Any], ids: list[uuid.UUID]
) -> dict[uuid.UUID, TransferRecord]:
    with raw.cursor() as cur:
        cur.execute(_SELECT_RECORDS + " WHERE t.id = ANY(%(ids)s)", {"ids": ids})
        return {record.id: record for record in map(_record, cur.fetchall())}


def _record(row: Sequence[Any]) -> TransferRecord:
    return TransferRecord(
        row[0],
        int(row[1]),
        row[2],
        row[3],
        int(row[4]),
        row[5],
        row[6],
        TransferFlags(row[7]),
        row[8],
        int(row[9]),
        row[10],
        row[11] or {},
    )


_INSERT = """
    INSERT INTO transfers (id, ts, debit_account_id, credit_account_id, amount, asset, code, flags,
                           pending_id, timeout_s, external_ref, user_data)
    SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[],
                         %b::text[], %b::text[], %b::integer[], %b::uuid[], %b::integer[],
                         %b::text[], %b::jsonb[])
"""
"""Parameters in binary (``%b``): psycopg's text form quotes every string of an array."""
_INSERT_SKIPPING_STORED = _INSERT + " ON CONFLICT (id) DO NOTHING"
_COPY = """
    COPY transfers (id, ts, debit_account_id, credit_account_id, amount, asset, code, flags,
                    pending_id, timeout_s, external_ref, user_data) FROM STDIN (FORMAT BINARY)
"""
_COPY_TYPES = (
    "uuid", "int8", "int8", "int8", "int8", "text", "text", "int4", "uuid", "int4", "text", "jsonb"
)  # fmt: skip
copy_rows_min = 64
"""From this many rows a batch is stored by COPY: it costs a round trip more than one INSERT,
and far less per row (no array to build and unpack)."""


def _insert(raw: psycopg.Connection[Any], rows: list[NewTransfer], skip_stored: bool) -> int:
    """Store the planned rows in one statement; how many were stored.

    With ``skip_stored`` an id already stored is skipped (and not counted); without it, it
    raises ``UniqueViolation``, which is cheaper when a savepoint is there to catch it, and a
    large batch goes by COPY (which cannot skip). Either way the statement trigger applies the
    rows to the totals.
    """
    if not rows:
        return 0
    with raw.cursor() as cur:
        if not skip_stored and len(rows) >= copy_rows_min:
            with cur.copy(_COPY) as copy:
                copy.set_types(list(_COPY_TYPES))
                for row in rows:
                    copy.write_row(row if row.user_data else (*row[:-1], None))
            return cur.rowcount
        columns: list[Any] = [list(column) for column in zip(*rows, strict=True)]
        columns[-1] = [Jsonb(data) if data else None for data in columns[-1]]
        cur.execute(_INSERT_SKIPPING_STORED if skip_stored else _INSERT, columns)
        return cur.rowcount


def _plain(request: TransferRequest) -> bool:
    """Whether every rule for this request is also a database constraint (see ``_try_plain``)."""
    return (
        not request.flags
        and request.pending_id is None
        and not request.timeout_s
        and request.id.int != 0
        and request.amount > 0
        and request.debit != request.credit
    )


def _any_stored(raw: psycopg.Connection[Any], ids: list[uuid.UUID]) -> bool:
    """Whether any of these ids is a stored transfer (a refusal must then be replanned)."""
    row = raw.execute(
        "SELECT EXISTS (SELECT 1 FROM transfers WHERE id = ANY(%s))", [ids]
    ).fetchone()
    return bool(row and row[0])
