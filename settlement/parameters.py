"""Treasury parameters: values the treasury changes at run time (not deployment settings).

Each parameter is a row of ``treasury_parameters`` (name, JSON value, who set it and when).
Only the parameters declared in ``PARAMETERS`` exist: each says what it means and checks its
value before it is stored, so a typo never becomes a parameter nobody reads and a reader
never meets a value it cannot use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection

from escrow.calendar import from_us
from escrow.model import Asset
from escrow.money import (
    IDR,
    MSC,
    PI,
    AmountRefused,
    asset,
    format_amount,
    parse_amount,
    parse_rate,
)
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement.unit_of_work import UnitOfWork

actor_chars_max = 64

__all__ = [
    "CONVERSION_TOLERANCE_BP",
    "DATA_TEAM_KEYS",
    "DISPUTE_ONE_OFFICER_LIMIT_IDR",
    "EXCEPTION_DECISION_LIMITS",
    "FUND_CLAIM_CAP_IDR",
    "FUND_COVERAGE_THRESHOLD_BPS",
    "FUND_MERCHANT_MONTH_CAP_IDR",
    "LOCK_PENALTY_BP",
    "MSCP_EXPIRY_DAYS",
    "MSCP_ONBOARDING_BONUS",
    "MSCP_REFERRAL_BONUS",
    "MSC_ONE_OFFICER_LIMIT",
    "PARAMETERS",
    "POINT_VALUE_IDR",
    "QUOTE_SPREAD_BP",
    "RESERVE_FLOOR_BPS",
    "RESERVE_HAIRCUT_BPS",
    "Parameter",
    "ParameterInvalid",
    "ParameterUnknown",
    "conversion_limit_name",
    "conversion_limit_units",
    "conversion_tolerance_bp",
    "data_team_keys",
    "decision_limit_units",
    "dispute_limit_units",
    "fund_claim_cap_units",
    "fund_coverage_threshold_bps",
    "fund_merchant_month_cap_units",
    "get",
    "lock_penalty_bp",
    "lock_rate",
    "lock_rate_name",
    "msc_one_officer_limit_units",
    "mscp_expiry_days",
    "point_value_idr_units",
    "points_parameter",
    "quote_spread_bp",
    "record",
    "reserve_floor_bps",
    "reserve_haircut_bps",
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


def _bps(high: int) -> Callable[[object], object]:
    """Basis points, a whole number from 0 to ``high`` (an int or its digits, as the CLI
    passes text), stored as an int."""

    def check(value: object) -> object:
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 6:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ParameterInvalid(f"basis points are a whole number >= 0, not {value!r}")
        if value > high:
            raise ParameterInvalid(f"at most {high} basis points, not {value}")
        return value

    return check


POINT_VALUE_IDR = "point_value_idr"
QUOTE_SPREAD_BP = "quote_spread_bp"
quote_spread_bp_max = 1000
"""10 %: a larger spread is a typo, not a price."""
quote_spread_bp_default = 100
"""The spread while nobody has set ``quote_spread_bp``: 1 % of the Pi sold (decision 0022)."""
RESERVE_HAIRCUT_BPS = "reserve_haircut_bps"
RESERVE_FLOOR_BPS = "reserve_floor_bps"
reserve_haircut_bps_default = 0
"""Until the treasury sets a haircut, the Pi inventory counts for nothing in the reserve."""
reserve_floor_bps_default = 10_000
"""Until the treasury sets a floor, MSC is issued only while the reserve covers it whole."""
reserve_floor_bps_max = 100_000
"""A floor above 1000% is a typo, not a policy."""
EXCEPTION_DECISION_LIMITS: Mapping[str, str] = MappingProxyType(
    {"IDR": "exception_decision_limit_idr", "PI": "exception_decision_limit_pi"}
)
"""Asset -> the parameter above which a decision on an exception needs governance."""
_LIMIT_MEANING = (
    "The largest {asset} amount one officer may decide on a QRIS exception or Pi flag (decimal"
    " text); above it the decision is refused exception_needs_governance: a signed proposal"
    " (exception.qris_decide, exception.pi_decide) decides it. Unset: no limit."
)
MSC_ONE_OFFICER_LIMIT = "msc_one_officer_limit"
"""Above this much MSC, one issuance or one redemption (a burn) needs a signed proposal."""
DISPUTE_ONE_OFFICER_LIMIT_IDR = "dispute_one_officer_limit_idr"
"""Above this price, a checkout dispute is decided by a signed proposal, not one officer."""
FUND_CLAIM_CAP_IDR = "fund_claim_cap_idr"
FUND_MERCHANT_MONTH_CAP_IDR = "fund_merchant_month_cap_idr"
FUND_COVERAGE_THRESHOLD_BPS = "fund_coverage_threshold_bps"
fund_coverage_threshold_bps_default = 10_000
"""Until the treasury sets a threshold, it is told whenever the guarantee fund would not cover
every open Pi exposure whole."""
fund_coverage_threshold_bps_max = 1_000_000
"""A threshold above 10000% is a typo, not a policy."""
CONVERSION_TOLERANCE_BP = "conversion_requote_tolerance_bp"
conversion_tolerance_bp_default = 50
"""How much less MSC (bp of the quoted) a late receipt's fresh quote may buy and still convert."""
conversion_tolerance_bp_max = 1000
TIERS = (0, 1)
"""Verification tiers of a Pioneer: 0 (the default) and 1 (verified: larger limits)."""
PERIODS = ("day", "month")
"""The WIB periods a conversion limit counts over."""
CONVERSION_LIMIT_DEFAULTS = {
    (0, "day"): "1000000.00",
    (0, "month"): "5000000.00",
    (1, "day"): "20000000.00",
    (1, "month"): "100000000.00",
}
"""MSC a Pioneer of each tier may convert per WIB day and month while the treasury set none."""


def conversion_limit_name(tier: int, period: str) -> str:
    """The parameter of the MSC a Pioneer of ``tier`` may convert per ``period``."""
    return f"conversion_limit_{period}_tier{tier}"


LOCK_TERMS_DAYS = (30, 60, 90)
"""The lock terms a Pioneer may choose; a term is offered once the treasury set its rate."""
lock_rate_fraction_digits_max = 12
"""A reward rate finer than 1e-12 MSCP per Pi per day is a typo."""
LOCK_PENALTY_BP = "lock_early_unlock_penalty_bp"
lock_penalty_bp_max = 10_000
MSCP_EXPIRY_DAYS = "mscp_expiry_days"
mscp_expiry_days_max = 3660
MSCP_ONBOARDING_BONUS = "mscp_onboarding_bonus"
MSCP_REFERRAL_BONUS = "mscp_referral_bonus"
mscp_bonus_max = 1_000_000
"""A bonus of more than a million points is a typo."""
DATA_TEAM_KEYS = "data_team_keys"
data_team_keys_max = 16
_KEY_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_PUBLIC_KEY_HEX = re.compile(r"[0-9a-f]{64}")


def lock_rate_name(term_days: int) -> str:
    """The parameter of the reward rate of the ``term_days`` lock (MSCP per Pi per day)."""
    return f"lock_rate_{term_days}d"


def _rate(value: object) -> object:
    """A reward rate: non-negative decimal text, at most 12 decimals, stored as given."""
    if not isinstance(value, str):
        raise ParameterInvalid(f"a rate is decimal text like '0.05', not {value!r}")
    try:
        parse_rate(value, lock_rate_fraction_digits_max)
    except AmountRefused as refused:
        raise ParameterInvalid(f"{refused.detail} ({refused.code})") from None
    return value


def _whole(high: int) -> Callable[[object], object]:
    """A whole number from 1 to ``high`` (an int or its digits), stored as an int."""

    def check(value: object) -> object:
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise ParameterInvalid(f"a whole number from 1 to {high}, not {value!r}")
        return value

    return check


def _keys(value: object) -> object:
    """The data team's ed25519 public keys: ``{"key id": "64 hex digits"}``, 1 to 16 of them."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ParameterInvalid("data team keys are a JSON object of key id: hex") from None
    if not isinstance(value, dict) or not 1 <= len(value) <= data_team_keys_max:
        raise ParameterInvalid(f"data team keys are 1 to {data_team_keys_max} key id: hex pairs")
    for key_id, key in value.items():
        if not _KEY_ID.fullmatch(str(key_id)) or not (
            isinstance(key, str) and _PUBLIC_KEY_HEX.fullmatch(key)
        ):
            raise ParameterInvalid(f"key {key_id!r}: an id of [a-z0-9_.-] and 64 hex digits")
    return dict(sorted(value.items()))


def _points() -> tuple[Parameter, ...]:
    return (
        *(
            Parameter(
                lock_rate_name(term),
                f"The reward of a {term}-day lock in MSC Points per Pi per day (decimal text;"
                " unset: the term is not offered). A position keeps the rate it opened at.",
                _rate,
            )
            for term in LOCK_TERMS_DAYS
        ),
        Parameter(
            LOCK_PENALTY_BP,
            "The share of the principal kept as a penalty when a lock is unlocked early, in"
            f" basis points (0 to {lock_penalty_bp_max}; unset: no penalty).",
            _bps(lock_penalty_bp_max),
        ),
        Parameter(
            MSCP_EXPIRY_DAYS,
            "Days after issuance an MSC Point expires, first in first out (unset: never).",
            _whole(mscp_expiry_days_max),
        ),
        Parameter(
            MSCP_ONBOARDING_BONUS,
            "MSC Points a Pioneer receives once, at onboarding (unset: none).",
            _whole(mscp_bonus_max),
        ),
        Parameter(
            MSCP_REFERRAL_BONUS,
            "MSC Points the referrer receives once per referred Pioneer who completes a first"
            " payment (unset: none).",
            _whole(mscp_bonus_max),
        ),
        Parameter(
            DATA_TEAM_KEYS,
            "The approved data team's ed25519 public keys that may sign data-dividend batches:"
            ' a JSON object {"key id": "64 hex digits"}.',
            _keys,
        ),
    )


def _limits() -> tuple[Parameter, ...]:
    return tuple(
        Parameter(
            conversion_limit_name(tier, period),
            f"The MSC a tier {tier} Pioneer may convert from Pi per WIB {period} (decimal text;"
            f" unset: {CONVERSION_LIMIT_DEFAULTS[tier, period]}).",
            _amount_of(MSC),
        )
        for tier in TIERS
        for period in PERIODS
    )


PARAMETERS: Mapping[str, Parameter] = MappingProxyType(
    {
        p.name: p
        for p in (
            Parameter(
                POINT_VALUE_IDR,
                "What one MSC Point of cashback is worth, in Rupiah (decimal text, '500.00').",
                _amount_of(IDR),
            ),
            Parameter(
                RESERVE_HAIRCUT_BPS,
                "The share of the Pi inventory's Rupiah value the reserve counts, in basis points"
                " (0 to 10000; unset: 0).",
                _bps(10_000),
            ),
            Parameter(
                RESERVE_FLOOR_BPS,
                "The reserve coverage below which no MSC is issued, in basis points of the MSC"
                f" outstanding (unset: {reserve_floor_bps_default}).",
                _bps(reserve_floor_bps_max),
            ),
            Parameter(
                QUOTE_SPREAD_BP,
                "The treasury's spread on a Pi quote, in basis points of the Pi sold, charged as"
                f" the quote's fee (0 to {quote_spread_bp_max}; {quote_spread_bp_default} unset).",
                _bps(quote_spread_bp_max),
            ),
            *(
                Parameter(name, _LIMIT_MEANING.format(asset=code), _amount_of(of))
                for code, name, of in (
                    ("IDR", EXCEPTION_DECISION_LIMITS["IDR"], IDR),
                    ("PI", EXCEPTION_DECISION_LIMITS["PI"], PI),
                )
            ),
            Parameter(
                MSC_ONE_OFFICER_LIMIT,
                "The most MSC one officer may issue from one deposit or burn in one redemption"
                " (decimal text); more is refused governance_required: a signed proposal"
                " (msc.issue, msc.redeem) does it. Unset: no limit.",
                _amount_of(MSC),
            ),
            Parameter(
                DISPUTE_ONE_OFFICER_LIMIT_IDR,
                "The largest checkout price (Rupiah, decimal text) whose dispute one officer may"
                " decide; above it governance_required: a signed checkout.dispute_decide"
                " proposal decides it. Unset: no limit.",
                _idr_amount,
            ),
            Parameter(
                FUND_CLAIM_CAP_IDR,
                "The most the guarantee fund pays for one FX shortfall or one claim, in Rupiah"
                " (decimal text; unset: the fund pays nothing without it).",
                _idr_amount,
            ),
            Parameter(
                FUND_MERCHANT_MONTH_CAP_IDR,
                "The most the guarantee fund pays one merchant in a WIB month, shortfalls and"
                " claims together, in Rupiah (decimal text; unset: nothing).",
                _idr_amount,
            ),
            Parameter(
                FUND_COVERAGE_THRESHOLD_BPS,
                "The guarantee fund's coverage of open Pi exposure below which the treasury is"
                f" alerted, in basis points (unset: {fund_coverage_threshold_bps_default}).",
                _bps(fund_coverage_threshold_bps_max),
            ),
            Parameter(
                CONVERSION_TOLERANCE_BP,
                "How much less MSC a conversion paid after its quote expired may buy at a fresh"
                " quote and still convert, in basis points of the MSC quoted (0 to"
                f" {conversion_tolerance_bp_max}; unset: {conversion_tolerance_bp_default});"
                " worse is refunded.",
                _bps(conversion_tolerance_bp_max),
            ),
            *_limits(),
            *_points(),
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


def reserve_haircut_bps(conn: Connection) -> int:
    """The Pi haircut of the reserve (parameter ``reserve_haircut_bps``), 0 while unset."""
    value = get(conn, RESERVE_HAIRCUT_BPS)
    return reserve_haircut_bps_default if value is None else int(str(value))


def reserve_floor_bps(conn: Connection) -> int:
    """The coverage floor (parameter ``reserve_floor_bps``), 10000 while unset."""
    value = get(conn, RESERVE_FLOOR_BPS)
    return reserve_floor_bps_default if value is None else int(str(value))


def quote_spread_bp(conn: Connection) -> int:
    """The quote spread in basis points (parameter ``quote_spread_bp``, else the default)."""
    value = get(conn, QUOTE_SPREAD_BP)
    return quote_spread_bp_default if value is None else int(str(value))


def decision_limit_units(conn: Connection, asset_code: str) -> int | None:
    """The largest amount of ``asset_code`` one officer may decide, in smallest units; None
    while the treasury has set no limit for it."""
    value = get(conn, EXCEPTION_DECISION_LIMITS[asset_code])
    return None if value is None else parse_amount(str(value), asset(asset_code).scale)


def dispute_limit_units(conn: Connection) -> int | None:
    """Sen of the largest checkout whose dispute one officer decides, None while unset."""
    value = get(conn, DISPUTE_ONE_OFFICER_LIMIT_IDR)
    return None if value is None else parse_amount(str(value), IDR.scale)


def msc_one_officer_limit_units(conn: Connection) -> int | None:
    """MSC sen one officer may issue or burn at once (``msc_one_officer_limit``), None unset."""
    value = get(conn, MSC_ONE_OFFICER_LIMIT)
    return None if value is None else parse_amount(str(value), MSC.scale)


def _idr_units(conn: Connection, name: str) -> int:
    value = get(conn, name)
    return 0 if value is None else parse_amount(str(value), IDR.scale)


def fund_claim_cap_units(conn: Connection) -> int:
    """The guarantee fund's cap per shortfall or claim in sen (``fund_claim_cap_idr``), 0 unset."""
    return _idr_units(conn, FUND_CLAIM_CAP_IDR)


def fund_merchant_month_cap_units(conn: Connection) -> int:
    """The fund's cap per merchant per WIB month in sen (``fund_merchant_month_cap_idr``), 0
    unset."""
    return _idr_units(conn, FUND_MERCHANT_MONTH_CAP_IDR)


def fund_coverage_threshold_bps(conn: Connection) -> int:
    """The fund's coverage alert threshold (``fund_coverage_threshold_bps``), default 10000."""
    value = get(conn, FUND_COVERAGE_THRESHOLD_BPS)
    return fund_coverage_threshold_bps_default if value is None else int(str(value))


def conversion_tolerance_bp(conn: Connection) -> int:
    """The late-receipt tolerance (parameter ``conversion_requote_tolerance_bp``, else 50)."""
    value = get(conn, CONVERSION_TOLERANCE_BP)
    return conversion_tolerance_bp_default if value is None else int(str(value))


def conversion_limit_units(conn: Connection, tier: int, period: str) -> int:
    """MSC sen a Pioneer of ``tier`` may convert per WIB ``period`` (its parameter, else the
    default)."""
    value = get(conn, conversion_limit_name(tier, period))
    text = CONVERSION_LIMIT_DEFAULTS[tier, period] if value is None else str(value)
    return parse_amount(text, asset("MSC").scale)


def lock_rate(conn: Connection, term_days: int) -> Decimal | None:
    """The reward rate of the ``term_days`` lock (MSCP per Pi per day), None while unset (the
    term is not offered)."""
    value = get(conn, lock_rate_name(term_days))
    return None if value is None else parse_rate(str(value), lock_rate_fraction_digits_max)


def lock_penalty_bp(conn: Connection) -> int:
    """The early-unlock principal penalty in basis points, 0 while unset."""
    value = get(conn, LOCK_PENALTY_BP)
    return 0 if value is None else int(str(value))


def mscp_expiry_days(conn: Connection) -> int | None:
    """Days before an issued point expires, None while unset (points never expire)."""
    value = get(conn, MSCP_EXPIRY_DAYS)
    return None if value is None else int(str(value))


def points_parameter(conn: Connection, name: str) -> int:
    """A whole-points parameter (a bonus size), 0 while unset."""
    value = get(conn, name)
    return 0 if value is None else int(str(value))


def data_team_keys(conn: Connection) -> dict[str, str]:
    """Key id -> hex ed25519 public key of the approved data team (empty while unset)."""
    value = get(conn, DATA_TEAM_KEYS)
    return {} if not isinstance(value, dict) else {str(k): str(v) for k, v in value.items()}
