"""Revenue-share rules as data: who gets which part of a released leg, and the cashback.

A rule is a row of ``revenue_share_rules``: the merchant's own (id = merchant id) or the
``default`` one. Its ``allotments`` column is a JSON list, one object per clause, in order::

    [{"to": "platform_fee", "percent_bp": 100},
     {"to": "platform_fee", "fixed": {"IDR": "200.00"}},
     {"to": "community_fund", "percent_bp": 50},
     {"to": "merchant", "remaining": true}]

``to`` is a ``Destination``; exactly one of ``percent_bp`` (int, 1..10000), ``remaining``
(``true``) or ``fixed`` (an object of asset code -> decimal string at the asset's scale,
read by ``escrow.money.parse_amount``: exact or refused). A destination may appear in more than
one clause (a fee of Rp 200 plus 1%); ``split`` adds its parts. The parts follow
``settlement.shares.allotment`` (fixed first, percents of the rest, largest remainder).
Every rule gives the merchant a percent or the remaining, so the merchant has a share of every
asset. Anything else is ``share_rule_invalid``.

Cashback (``cashback_points``) is in the ledger's favour, rounded down twice: the Rupiah value
is ``floor(paid * cashback_bp / 10000)`` sen, capped at ``cashback_cap_units`` sen, and the
points are ``floor(value / point value)``; the fraction of a point is never credited.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection

from escrow.calendar import from_us
from escrow.errors import InvariantViolation
from escrow.money import (
    IDR,
    UNITS_MAX,
    AmountRefused,
    AssetRefused,
    asset,
    format_amount,
    parse_amount,
)
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement.shares.allotment import (
    BP_WHOLE,
    AllotmentInvalid,
    Fixed,
    Percent,
    Portion,
    Remaining,
    allot,
    validate,
)
from settlement.unit_of_work import UnitOfWork

DEFAULT_RULE_ID = "default"
"""The rule of every merchant without one of its own (migration 0012 seeds it)."""
_RULE_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
actor_chars_max = 64

__all__ = [
    "DEFAULT_RULE_ID",
    "Allotment",
    "Destination",
    "RuleMerchantUnknown",
    "ShareRule",
    "ShareRuleInvalid",
    "ShareRuleNotFound",
    "cap_units",
    "cashback_points",
    "find_rule",
    "parse_rule",
    "rule_for",
    "rule_json",
    "rule_view",
    "set_rule",
    "split",
]


ShareRuleInvalid = AllotmentInvalid
"""A rule that cannot be applied as written (``share_rule_invalid``)."""


class RuleMerchantUnknown(Refusal, LookupError):
    """A rule for an id that is neither ``default`` nor an onboarded merchant."""

    code = "share_rule_merchant_unknown"


class ShareRuleNotFound(Refusal, LookupError):
    """No rule is stored under this id (``share_rule_not_found``)."""

    code = "share_rule_not_found"


class Destination(StrEnum):
    """Where a part of a released leg goes (the chart's merchant, fee and fund accounts)."""

    MERCHANT = "merchant"
    PLATFORM_FEE = "platform_fee"
    COMMUNITY_FUND = "community_fund"


@dataclass(frozen=True, slots=True)
class Allotment:
    """One clause of a rule: a portion to a destination."""

    to: Destination
    portion: Portion


@dataclass(frozen=True, slots=True)
class ShareRule:
    """A merchant's (or the default) split of released legs, and its cashback."""

    id: str
    allotments: tuple[Allotment, ...]
    cashback_bp: int
    cashback_cap_units: int | None


def parse_rule(
    id: str,
    allotments_json: Sequence[Mapping[str, object]],
    cashback_bp: int,
    cashback_cap_units: int | None,
) -> ShareRule:
    """The rule of the stored (or requested) JSON; ``share_rule_invalid`` unless it always
    splits every amount of every asset, the merchant included."""
    if not isinstance(id, str) or not _RULE_ID.fullmatch(id):
        raise ShareRuleInvalid(f"a rule id is 1 to 32 of A-Z a-z 0-9 _ -, not {id!r}")
    if isinstance(allotments_json, str | bytes) or not isinstance(allotments_json, Sequence):
        raise ShareRuleInvalid("allotments are a list of clauses")
    clauses = tuple(_clause(clause) for clause in allotments_json)
    validate([clause.portion for clause in clauses])
    if not any(c.to is Destination.MERCHANT and not isinstance(c.portion, Fixed) for c in clauses):
        raise ShareRuleInvalid("the merchant must have a percent or the remaining")
    if not _whole(cashback_bp) or not 0 <= cashback_bp <= BP_WHOLE:
        raise ShareRuleInvalid(f"cashback is 0 to {BP_WHOLE} bp, not {cashback_bp!r}")
    if cashback_cap_units is not None and (
        not _whole(cashback_cap_units) or not 0 < cashback_cap_units <= UNITS_MAX
    ):
        raise ShareRuleInvalid(f"a cashback cap is positive sen, not {cashback_cap_units!r}")
    return ShareRule(id, clauses, cashback_bp, cashback_cap_units)


def _clause(raw: object) -> Allotment:
    if not isinstance(raw, Mapping):
        raise ShareRuleInvalid(f"a clause is an object, not {raw!r}")
    kinds = set(raw) & {"percent_bp", "remaining", "fixed"}
    if len(kinds) != 1 or set(raw) - kinds != {"to"}:
        raise ShareRuleInvalid(
            f"a clause has 'to' and one of percent_bp, remaining, fixed: {sorted(raw)}"
        )
    try:
        to = Destination(raw["to"])
    except ValueError:
        raise ShareRuleInvalid(f"unknown destination {raw['to']!r}") from None
    kind = kinds.pop()
    value = raw[kind]
    if kind == "percent_bp":
        if not _whole(value):
            raise ShareRuleInvalid(f"percent_bp is an integer, not {value!r}")
        return Allotment(to, Percent(value))
    if kind == "remaining":
        if value is not True:
            raise ShareRuleInvalid("remaining is written as true")
        return Allotment(to, Remaining())
    return Allotment(to, Fixed(_fixed_units(value)))


def _fixed_units(raw: object) -> Mapping[str, int]:
    if not isinstance(raw, Mapping) or not raw:
        raise ShareRuleInvalid('fixed is an object of asset -> amount, e.g. {"IDR": "200.00"}')
    units: dict[str, int] = {}
    for code, amount in raw.items():
        try:
            of = asset(code)
            if not isinstance(amount, str):
                raise ShareRuleInvalid(f"a fixed amount is a decimal string, not {amount!r}")
            units[of.code] = parse_amount(amount, of.scale)
        except (AmountRefused, AssetRefused) as refused:
            raise ShareRuleInvalid(f"fixed {code}: {refused.detail} ({refused.code})") from None
    return MappingProxyType(units)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def rule_json(rule: ShareRule) -> list[dict[str, Any]]:
    """The rule's clauses as stored (``parse_rule`` reads them back to the same rule)."""
    clauses: list[dict[str, Any]] = []
    for clause in rule.allotments:
        portion = clause.portion
        if isinstance(portion, Percent):
            clauses.append({"to": str(clause.to), "percent_bp": portion.bp})
        elif isinstance(portion, Remaining):
            clauses.append({"to": str(clause.to), "remaining": True})
        else:
            fixed = {
                code: format_amount(units, asset(code).scale)
                for code, units in sorted(portion.units.items())
            }
            clauses.append({"to": str(clause.to), "fixed": fixed})
    return clauses


def rule_view(rule: ShareRule) -> dict[str, Any]:
    """The rule as JSON (the API's and the CLI's answer): its clauses as stored, the cashback
    cap as an IDR amount."""
    cap = rule.cashback_cap_units
    return {
        "id": rule.id,
        "allotments": rule_json(rule),
        "cashback_bp": rule.cashback_bp,
        "cashback_cap": None
        if cap is None
        else {"amount": format_amount(cap, IDR.scale), "asset": "IDR", "amount_units": cap},
    }


def cap_units(text: str) -> int:
    """Exact sen of a cashback cap written as Rupiah decimal text; ``share_rule_invalid``."""
    try:
        return parse_amount(text, IDR.scale)
    except AmountRefused as refused:
        raise ShareRuleInvalid(f"cashback cap: {refused.detail} ({refused.code})") from None


def split(rule: ShareRule, total: int, asset: str) -> dict[Destination, int]:
    """Each destination's part of ``total`` units of ``asset`` (clauses of one destination
    added up); the values sum to ``total`` exactly."""
    parts = allot(total, [clause.portion for clause in rule.allotments], asset)
    shares: dict[Destination, int] = {}
    for clause, part in zip(rule.allotments, parts, strict=True):
        shares[clause.to] = shares.get(clause.to, 0) + part
    return shares


def cashback_points(rule: ShareRule, paid_idr_units: int, point_value_idr_units: int) -> int:
    """Whole MSC Points of cashback for ``paid_idr_units`` sen paid: floor, capped, floor
    (the module's rule, in the ledger's favour)."""
    if not _whole(paid_idr_units) or paid_idr_units < 0:
        raise ValueError(f"paid must be sen >= 0, not {paid_idr_units!r}")
    if not _whole(point_value_idr_units) or point_value_idr_units <= 0:
        raise ValueError(f"a point's value must be positive sen, not {point_value_idr_units!r}")
    value = paid_idr_units * rule.cashback_bp // BP_WHOLE
    if rule.cashback_cap_units is not None:
        value = min(value, rule.cashback_cap_units)
    return value // point_value_idr_units


_COLUMNS = "id, allotments, cashback_bp, cashback_cap_units, updated_at, updated_by"


def find_rule(conn: Connection, rule_id: str) -> ShareRule | None:
    """The rule stored under ``rule_id`` (a merchant id or ``default``), if any."""
    row = conn.execute(
        sql(f"SELECT {_COLUMNS} FROM revenue_share_rules WHERE id = :id"),  # noqa: S608 - constant columns
        {"id": rule_id},
    ).one_or_none()
    return None if row is None else _stored(row)


def rule_for(conn: Connection, merchant_id: str) -> ShareRule:
    """The rule that splits ``merchant_id``'s legs: its own, else ``default``."""
    row = conn.execute(
        sql(
            f"SELECT {_COLUMNS} FROM revenue_share_rules WHERE id IN (:id, :default)"  # noqa: S608 - constant columns
            " ORDER BY id = :default LIMIT 1"
        ),
        {"id": merchant_id, "default": DEFAULT_RULE_ID},
    ).one_or_none()
    if row is None:
        raise InvariantViolation("revenue_share_rules has no default rule (migration 0012)")
    return _stored(row)


def _stored(row: Any) -> ShareRule:  # noqa: ANN401 - a SQLAlchemy row
    return parse_rule(row.id, row.allotments, row.cashback_bp, row.cashback_cap_units)


def rule_record(conn: Connection, rule_id: str) -> dict[str, Any] | None:
    """Who last set the rule under ``rule_id`` and when (µs), for answers and the CLI."""
    row = conn.execute(
        sql("SELECT updated_at, updated_by FROM revenue_share_rules WHERE id = :id"),
        {"id": rule_id},
    ).one_or_none()
    return None if row is None else {"updated_at": row.updated_at, "updated_by": row.updated_by}


def set_rule(uow: UnitOfWork, rule: ShareRule, by: str) -> ShareRule:
    """Store ``rule`` under its id (``default`` or an onboarded merchant's), recording who and
    when; replaces the rule before it. Refused: an invalid rule, an unknown merchant."""
    if not isinstance(by, str) or not 1 <= len(by) <= actor_chars_max:
        raise ValueError(f"by names who sets the rule in 1 to {actor_chars_max} characters")
    checked = parse_rule(rule.id, rule_json(rule), rule.cashback_bp, rule.cashback_cap_units)
    if checked.id != DEFAULT_RULE_ID and not _merchant_exists(uow.conn, checked.id):
        raise RuleMerchantUnknown(f"no merchant {checked.id!r} to set a rule for")
    uow.conn.execute(
        sql(
            "INSERT INTO revenue_share_rules"
            " (id, allotments, cashback_bp, cashback_cap_units, updated_at, updated_by)"
            " VALUES (:id, CAST(:allotments AS jsonb), :bp, :cap, :at, :by)"
            " ON CONFLICT (id) DO UPDATE SET allotments = EXCLUDED.allotments,"
            " cashback_bp = EXCLUDED.cashback_bp, cashback_cap_units = EXCLUDED.cashback_cap_units,"
            " updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by"
        ),
        {
            "id": checked.id,
            "allotments": json.dumps(rule_json(checked)),
            "bp": checked.cashback_bp,
            "cap": checked.cashback_cap_units,
            "at": from_us(uow.clock.now_us()),
            "by": by,
        },
    )
    return checked


def _merchant_exists(conn: Connection, merchant_id: str) -> bool:
    found = conn.execute(
        sql("SELECT 1 FROM merchants WHERE id = :id"), {"id": merchant_id}
    ).one_or_none()
    return found is not None
