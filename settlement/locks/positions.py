"""Lock positions: asked for (a Pi expectation with purpose ``lock``), then opened by the payment.

``create`` checks the term is offered (its rate parameter is set) and the points budget can
cover the position's maximum reward now (so a Pioneer is not asked to pay for a lock that would
be refused), and expects the principal from the Pioneer, crediting ``locks:PI``. States:
``expected`` -> ``open`` | ``refused`` (``settlement.locks.opening``), ``open`` -> ``matured``
| ``unlocked`` (``settlement.locks.closing``). The rate is fixed when the lock is asked for.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from escrow.calendar import from_us, iso_or_none
from escrow.errors import AccountNotFound
from escrow.money import AMOUNT_OUT_OF_RANGE, PI, UNITS_MAX, AmountRefused, format_amount
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement import chart, parameters
from settlement.expectations import LOCK_PURPOSE
from settlement.locks.reward import accrued_units, rate_per_unit
from settlement.pi.expectations import create_expectation, payment_metadata
from settlement.unit_of_work import UnitOfWork

REFERENCE_PREFIX = "lck_"
ACTIONS = ("a2u", "convert")
"""What happens to the principal at maturity: paid back by A2U, or converted to MSC."""
page_max = 100
key_chars_max = 128
pay_within_s = 900
"""How long the Pioneer has to pay the principal once the lock is asked for."""


class LockStatus(StrEnum):
    """Where a position is in its life."""

    EXPECTED = "expected"
    OPEN = "open"
    REFUSED = "refused"
    MATURED = "matured"
    UNLOCKED = "unlocked"


class LockRefused(Refusal, ValueError):
    """A lock refused: ``lock_term_not_offered``, ``lock_budget_exhausted``, ``lock_not_found``,
    ``lock_not_open``, ``lock_action_unsupported``."""

    code = "lock_not_found"


@dataclass(frozen=True, slots=True)
class Position:
    """One lock position; principal in Pi units (1e-7), rewards in whole MSCP."""

    id: uuid.UUID
    uid: str
    reference: str
    term_days: int
    principal_units: int
    rate: Decimal
    rate_per_unit: Decimal
    reward_max: int
    maturity_action: str
    status: LockStatus
    created_at: datetime
    expires_at: datetime
    payment_id: str | None
    started_at: datetime | None
    matures_at: datetime | None
    accrued_days: int
    vested_units: int
    reward_units: int | None
    penalty_units: int | None
    closed_at: datetime | None
    refusal_code: str | None

    def view(self) -> dict[str, Any]:
        """The position as answered: the principal as decimal text and units, times ISO 8601,
        and the Pi payment to make while it is expected."""
        principal = format_amount(self.principal_units, PI.scale)
        return {
            "id": str(self.id),
            "uid": self.uid,
            "status": str(self.status),
            "term_days": self.term_days,
            "principal_amount": principal,
            "principal_units": self.principal_units,
            "rate": str(self.rate),
            "reward_max": self.reward_max,
            "accrued_days": self.accrued_days,
            "vested_points": self.vested_units,
            "reward_points": self.reward_units,
            "penalty_units": self.penalty_units,
            "maturity_action": self.maturity_action,
            "refusal_code": self.refusal_code,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "started_at": iso_or_none(self.started_at),
            "matures_at": iso_or_none(self.matures_at),
            "closed_at": iso_or_none(self.closed_at),
            "payment": {
                "amount": principal,
                "memo": f"Lock {principal} Pi for {self.term_days} days",
                "metadata": payment_metadata(self.reference, LOCK_PURPOSE),
            },
        }


COLUMNS = (
    "id, uid, reference, term_days, principal_units, rate, rate_per_unit, reward_max,"
    " maturity_action, status, created_at, expires_at, payment_id, started_at, matures_at,"
    " accrued_days, vested_units, reward_units, penalty_units, closed_at, refusal_code"
)


def of_row(row: Any) -> Position:  # noqa: ANN401 - a SQLAlchemy Row
    """The position of a row selected with ``COLUMNS``."""
    values = dict(row._mapping)
    values["status"] = LockStatus(values["status"])
    return Position(**values)


def budget_available(uow: UnitOfWork) -> int:
    """MSCP the points budget can still promise: posted less what reservations hold."""
    try:
        return uow.ledger.balance(chart.mscp_budget().code).available
    except AccountNotFound:
        return 0


def create(
    uow: UnitOfWork, *, uid: str, term_days: int, principal_units: int, action: str, key: str
) -> Position:
    """Ask for a lock of ``principal_units`` Pi for ``term_days`` (idempotent by ``key`` per
    Pioneer). Refused, nothing written: ``lock_term_not_offered``, ``lock_action_unsupported``,
    ``amount_out_of_range``, ``lock_budget_exhausted`` (the budget cannot cover it now)."""
    if not 1 <= len(key) <= key_chars_max:
        raise ValueError(f"an idempotency key is 1..{key_chars_max} characters")
    existing = _find_by_key(uow.conn, uid, key)
    if existing is not None:
        return existing
    if action not in ACTIONS:
        raise LockRefused(f"maturity action {action!r}", code="lock_action_unsupported")
    rate = (
        parameters.lock_rate(uow.conn, term_days)
        if term_days in parameters.LOCK_TERMS_DAYS
        else None
    )
    if rate is None:
        raise LockRefused(f"no {term_days}-day lock is offered", code="lock_term_not_offered")
    if isinstance(principal_units, bool) or not 0 < principal_units <= UNITS_MAX:
        raise AmountRefused(AMOUNT_OUT_OF_RANGE, f"a lock is 1..{UNITS_MAX} Pi units")
    per_unit = rate_per_unit(rate)
    reward_max = accrued_units(principal_units, per_unit, term_days)
    if reward_max > UNITS_MAX:
        raise AmountRefused(AMOUNT_OUT_OF_RANGE, "the reward of this lock is out of range")
    if reward_max > budget_available(uow):
        raise LockRefused(
            f"the points budget cannot cover {reward_max} MSCP", code="lock_budget_exhausted"
        )
    position_id = uuid.uuid4()
    reference = REFERENCE_PREFIX + position_id.hex
    expectation = create_expectation(
        uow,
        purpose=LOCK_PURPOSE,
        amount_units=principal_units,
        credit_account=chart.locks_pi().code,
        payer_uid=uid,
        expires_in_s=pay_within_s,
        reference=reference,
    )
    row = uow.conn.execute(
        sql(
            "INSERT INTO lock_positions (id, uid, reference, idempotency_key, term_days,"  # noqa: S608 - constant columns
            " principal_units, rate, rate_per_unit, reward_max, maturity_action, created_at,"
            " expires_at) VALUES (:id, :uid, :ref, :key, :term, :principal, :rate, :per_unit,"
            f" :reward_max, :action, :created, :expires) RETURNING {COLUMNS}"
        ),
        {
            "id": position_id,
            "uid": uid,
            "ref": reference,
            "key": key,
            "term": term_days,
            "principal": principal_units,
            "rate": rate,
            "per_unit": per_unit,
            "reward_max": reward_max,
            "action": action,
            "created": from_us(uow.clock.now_us()),
            "expires": expectation.expires_at,
        },
    ).one()
    return of_row(row)


def _find_by_key(conn: Connection, uid: str, key: str) -> Position | None:
    row = conn.execute(
        sql(f"SELECT {COLUMNS} FROM lock_positions WHERE uid = :uid AND idempotency_key = :key"),  # noqa: S608 - constant columns
        {"uid": uid, "key": key},
    ).first()
    return None if row is None else of_row(row)


def find(conn: Connection, position_id: uuid.UUID, *, lock: bool = False) -> Position | None:
    """The position with this id (``lock``: for update)."""
    suffix = " FOR UPDATE" if lock else ""
    row = conn.execute(
        sql(f"SELECT {COLUMNS} FROM lock_positions WHERE id = :id{suffix}"),  # noqa: S608 - constant columns
        {"id": position_id},
    ).first()
    return None if row is None else of_row(row)


def find_by_reference(conn: Connection, reference: str, *, lock: bool) -> Position | None:
    """The position its expectation's ``reference`` names (``lock``: for update)."""
    suffix = " FOR UPDATE" if lock else ""
    row = conn.execute(
        sql(f"SELECT {COLUMNS} FROM lock_positions WHERE reference = :ref{suffix}"),  # noqa: S608 - constant columns
        {"ref": reference},
    ).first()
    return None if row is None else of_row(row)


def require(
    conn: Connection, position_id: uuid.UUID, uid: str | None, *, lock: bool = False
) -> Position:
    """The position for its Pioneer (``uid``) or the treasury (None); else ``lock_not_found``."""
    found = find(conn, position_id, lock=lock)
    if found is None or (uid is not None and found.uid != uid):
        raise LockRefused(f"no lock {position_id}")
    return found


def page(
    conn: Connection, *, uid: str | None, after: uuid.UUID | None = None, limit: int = page_max
) -> list[Position]:
    """Positions by id, optionally of one Pioneer, after the cursor ``after``."""
    if not 0 < limit <= page_max:
        raise ValueError(f"page size must be 1..{page_max}")
    rows = conn.execute(
        sql(
            f"SELECT {COLUMNS} FROM lock_positions"  # noqa: S608 - constant columns
            " WHERE (CAST(:uid AS text) IS NULL OR uid = :uid)"
            " AND (CAST(:after AS uuid) IS NULL OR id > :after) ORDER BY id LIMIT :limit"
        ),
        {"uid": uid, "after": after, "limit": limit},
    ).all()
    return [of_row(row) for row in rows]


def set_maturity_action(uow: UnitOfWork, position_id: uuid.UUID, uid: str, action: str) -> Position:
    """Change what happens to the principal at maturity: allowed until the position closes."""
    if action not in ACTIONS:
        raise LockRefused(f"maturity action {action!r}", code="lock_action_unsupported")
    found = require(uow.conn, position_id, uid, lock=True)
    if found.status not in (LockStatus.EXPECTED, LockStatus.OPEN):
        raise LockRefused(f"lock {position_id} is {found.status}", code="lock_not_open")
    row = uow.conn.execute(
        sql(
            "UPDATE lock_positions SET maturity_action = :action WHERE id = :id"  # noqa: S608 - constant columns
            f" RETURNING {COLUMNS}"
        ),
        {"action": action, "id": position_id},
    ).one()
    return of_row(row)


def commitments(conn: Connection) -> dict[str, int]:
    """What the points budget has promised to open locks: reserved, vested so far, positions."""
    row = conn.execute(
        sql(
            "SELECT count(*) AS n, coalesce(sum(reward_max), 0) AS reserved,"
            " coalesce(sum(vested_units), 0) AS vested FROM lock_positions WHERE status = 'open'"
        )
    ).one()
    return {"open_positions": int(row.n), "reserved": int(row.reserved), "vested": int(row.vested)}
