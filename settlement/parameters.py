"""Treasury parameters: values the treasury changes at run time (not deployment settings).

Each parameter is a row of ``treasury_parameters`` (name, JSON value, who set it and when).
Only the parameters declared in ``PARAMETERS`` exist: each says what it means and checks its
value before it is stored, so a typo never becomes a parameter nobody reads and a reader
never meets a value it cannot use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection

from escrow.calendar import from_us
from escrow.model import Asset
from escrow.money import IDR, PI, AmountRefused, asset, format_amount, parse_amount
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement.unit_of_work import UnitOfWork

actor_chars_max = 64

__all__ = [
    "EXCEPTION_DECISION_LIMITS",
    "PARAMETERS",
    "POINT_VALUE_IDR",
    "Parameter",
    "ParameterInvalid",
    "ParameterUnknown",
    "decision_limit_units",
    "get",
    "point_value_idr_units",
    "record",
    "set_",
]


class ParameterUnknown(Refusal, LookupError):
    """No parameter has this name (``parameter_unknown``)."""

    code = "parameter_unknown"


class ParameterInvalid(Refusal, ValueError):
    """The value is not one the parameter can take (``parameter_invalid``)."""

    code = "parameter_invalid"


@dataclass(frozen=True, slots=True)
class Parameter:
    """A declared parameter: its meaning and the check (returning the value to store)."""

    name: str
    meaning: str
    check: Callable[[object], object]


def _amount_of(of: Asset) -> Callable[[object], object]:
    """The check of a positive amount of ``of`` as decimal text, stored at the asset's scale."""

    def check(value: object) -> object:
        if not isinstance(value, str):
            raise ParameterInvalid(f"a {of.code} amount is decimal text like '500', not {value!r}")
        try:
            return format_amount(parse_amount(value, of.scale), of.scale)
        except AmountRefused as refused:
            raise ParameterInvalid(f"{refused.detail} ({refused.code})") from None

    return check


_idr_amount = _amount_of(IDR)
"""A positive Rupiah amount as decimal text ("500" or "500.00"), stored as "500.00"."""

POINT_VALUE_IDR = "point_value_idr"
EXCEPTION_DECISION_LIMITS: Mapping[str, str] = MappingProxyType(
    {"IDR": "exception_decision_limit_idr", "PI": "exception_decision_limit_pi"}
)
"""Asset -> the parameter above which a decision on an exception needs governance."""
_LIMIT_MEANING = (
    "The largest {asset} amount one officer may decide on a QRIS exception or Pi flag (decimal"
    " text); above it the decision is refused exception_needs_governance until governance"
    " (issue 13) exists. Unset: no limit."
)
PARAMETERS: Mapping[str, Parameter] = MappingProxyType(
    {
        p.name: p
        for p in (
            Parameter(
                POINT_VALUE_IDR,
                "What one MSC Point of cashback is worth, in Rupiah (decimal text, '500.00').",
                _idr_amount,
            ),
            *(
                Parameter(name, _LIMIT_MEANING.format(asset=code), _amount_of(of))
                for code, name, of in (
                    ("IDR", EXCEPTION_DECISION_LIMITS["IDR"], IDR),
                    ("PI", EXCEPTION_DECISION_LIMITS["PI"], PI),
                )
            ),
        )
    }
)
"""Every parameter, by name."""


def _declared(name: str) -> Parameter:
    found = PARAMETERS.get(name) if isinstance(name, str) else None
    if found is None:
        raise ParameterUnknown(f"no parameter {name!r}; known: {sorted(PARAMETERS)}")
    return found


def get(conn: Connection, name: str) -> object | None:
    """The value of parameter ``name``, None while nobody has set it."""
    found = record(conn, name)
    return None if found is None else found["value"]


def record(conn: Connection, name: str) -> dict[str, Any] | None:
    """Parameter ``name`` as stored (value, updated_at, updated_by), None while unset."""
    _declared(name)
    row = conn.execute(
        sql("SELECT value, updated_at, updated_by FROM treasury_parameters WHERE name = :name"),
        {"name": name},
    ).one_or_none()
    if row is None:
        return None
    return {"value": row.value, "updated_at": row.updated_at, "updated_by": row.updated_by}


def set_(uow: UnitOfWork, name: str, value: object, by: str) -> None:
    """Set parameter ``name`` to ``value`` (checked by the parameter), recording who and when."""
    if not isinstance(by, str) or not 1 <= len(by) <= actor_chars_max:
        raise ValueError(f"by names who sets the parameter in 1 to {actor_chars_max} characters")
    checked = _declared(name).check(value)
    uow.conn.execute(
        sql(
            "INSERT INTO treasury_parameters (name, value, updated_at, updated_by)"
            " VALUES (:name, CAST(:value AS jsonb), :at, :by)"
            " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value,"
            " updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by"
        ),
        {
            "name": name,
            "value": json.dumps(checked),
            "at": from_us(uow.clock.now_us()),
            "by": by,
        },
    )


def point_value_idr_units(conn: Connection) -> int | None:
    """One MSC Point's value in sen (parameter ``point_value_idr``), None while unset."""
    value = get(conn, POINT_VALUE_IDR)
    return None if value is None else parse_amount(str(value), IDR.scale)


def decision_limit_units(conn: Connection, asset_code: str) -> int | None:
    """The largest amount of ``asset_code`` one officer may decide, in smallest units; None
    while the treasury has set no limit for it."""
    value = get(conn, EXCEPTION_DECISION_LIMITS[asset_code])
    return None if value is None else parse_amount(str(value), asset(asset_code).scale)
