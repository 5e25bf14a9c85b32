"""The governed actions: what each proposal ``action`` checks and does when executed.

An action's params are checked when the proposal is made (so officers never sign one that
cannot run) and again, with the state then, when it executes. ``perform`` calls the use case
that did the work before governance (its ``by`` is the executing proposal), inside the
transaction that records the execution. Officer actions change the officer set and are
performed by ``settlement.governance.treasury`` itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from escrow.errors import InvariantViolation
from escrow.money import IDR, MSC, PI
from settlement import parameters
from settlement.audit import governance_log as g
from settlement.checkout import service as checkout_service
from settlement.checkout.service import CheckoutDeps
from settlement.decisions.pi import decide_pi_flag
from settlement.decisions.qris import decide_qris_exception
from settlement.decisions.record import Outcome, view
from settlement.fund import claims
from settlement.governance.errors import GovernanceRefused
from settlement.payouts.details import bank_account
from settlement.rates.firm import amount_units
from settlement.rates.readings import enter_treasury_rate, treasury_valid_s_max
from settlement.reserves import issuance, redemption
from settlement.shares.rules import ShareRule, cap_units, parse_rule, rule_view, set_rule
from settlement.unit_of_work import UnitOfWork

Params = Mapping[str, Any]
DISPUTE_ACTION = "checkout.dispute_decide"
"""The one action whose use case needs wiring (the checkout's conversion and rails)."""
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class Wiring:
    """The adapters an action's use case needs beyond the unit of work, given by the entry
    point that executes (built in ``settlement.bootstrap``); None where it has none."""

    checkout: CheckoutDeps | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """One governed action: its meaning, its params' check, and what executing it does."""

    name: str
    meaning: str
    check: Callable[[Params], None]
    perform: Callable[[UnitOfWork, Params, str, Wiring], dict[str, Any]]


def _fields(params: Params, required: set[str], optional: frozenset[str] = frozenset()) -> None:
    if not required <= set(params) <= required | optional:
        raise GovernanceRefused(
            f"params are {sorted(required)}, optionally {sorted(optional)}: not {sorted(params)}",
            code="governance_action_invalid",
        )


def _text(params: Params, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise GovernanceRefused(f"{name} is a non-empty string", code="governance_action_invalid")
    return value


def _check_period_close(params: Params) -> None:
    _fields(params, {"period"})
    if not _PERIOD.match(_text(params, "period")):
        raise GovernanceRefused("period is YYYY-MM", code="governance_action_invalid")


def _period_close(uow: UnitOfWork, params: Params, by: str, wiring: Wiring) -> dict[str, Any]:
    closed = uow.ledger.close_period(params["period"], by)
    return {"period": params["period"], "transfers": closed.transfer_count, "closed_by": by}


def _check_parameter(params: Params) -> None:
    _fields(params, {"name", "value"})
    found = parameters.PARAMETERS.get(_text(params, "name"))
    if found is None:
        raise parameters.ParameterUnknown(f"no parameter {params['name']!r}")
    found.check(params["value"])


def _parameter_set(uow: UnitOfWork, params: Params, by: str, wiring: Wiring) -> dict[str, Any]:
    parameters.set_(uow, params["name"], params["value"], by)
    return {"name": params["name"], "value": parameters.get(uow.conn, params["name"])}


RATE_BASE, RATE_QUOTE = "PI", "IDR"
rate_valid_s_default = 3600


def _check_rate(params: Params) -> None:
    _fields(params, {"price"}, frozenset({"valid_s"}))
    amount_units(_text(params, "price"), RATE_QUOTE)
    valid = params.get("valid_s", rate_valid_s_default)
    if (
        isinstance(valid, bool)
        or not isinstance(valid, int)
        or not 1 <= valid <= treasury_valid_s_max
    ):
        raise GovernanceRefused(
            f"valid_s is 1 to {treasury_valid_s_max} seconds", code="governance_action_invalid"
        )


def _rate_override(uow: UnitOfWork, params: Params, by: str, wiring: Wiring) -> dict[str, Any]:
    units = amount_units(params["price"], RATE_QUOTE)
    valid = params.get("valid_s", rate_valid_s_default)
    enter_treasury_rate(uow, RATE_BASE, RATE_QUOTE, units, valid, by)
    return {"base": RATE_BASE, "quote": RATE_QUOTE, "price_units": units, "valid_s": valid}


def _check_claim(params: Params) -> None:
    _fields(params, {"claim", "outcome"}, frozenset({"reason", "amount", "beyond_caps"}))
    _text(params, "claim")
    if not isinstance(params.get("beyond_caps", False), bool):
        raise GovernanceRefused("beyond_caps is true or false", code="governance_action_invalid")
    if params["outcome"] not in {o.value for o in claims.Outcome}:
        raise GovernanceRefused("outcome is approve or reject", code="governance_action_invalid")
    if "amount" in params:
        amount_units(_text(params, "amount"), IDR.code)


def _claim_decide(uow: UnitOfWork, params: Params, by: str, wiring: Wiring) -> dict[str, Any]:
    amount = params.get("amount")
    return claims.decide(
        uow,
        params["claim"],
        claims.Outcome(params["outcome"]),
        by,
        reason=params.get("reason"),
        amount=None if amount is None else amount_units(amount, IDR.code),
        beyond_caps=params.get("beyond_caps", False),
    )


_EXCEPTION_OPTIONAL = frozenset({"merchant", "amount"})
_BANK_FIELDS = ("bank_code", "account_number", "holder_name")


def _check_exception(params: Params, subject: str, asset_code: str, more: frozenset[str]) -> None:
    _fields(params, {subject, "outcome", "note"}, _EXCEPTION_OPTIONAL | more)
    number = params[subject]
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise GovernanceRefused(
            f"{subject} is a positive integer", code="governance_action_invalid"
        )
    if params["outcome"] not in {o.value for o in Outcome}:
        raise GovernanceRefused(
            f"outcome is one of {[o.value for o in Outcome]}", code="governance_action_invalid"
        )
    _text(params, "note")
    if "amount" in params:
        amount_units(_text(params, "amount"), asset_code)


def _check_qris(params: Params) -> None:
    _check_exception(params, "exception_id", IDR.code, frozenset(_BANK_FIELDS))
    given = [name for name in _BANK_FIELDS if name in params]
    if given and len(given) != len(_BANK_FIELDS):
        raise GovernanceRefused(
            f"a payer's bank account is all of {list(_BANK_FIELDS)}",
            code="governance_action_invalid",
        )
    if given:
        bank_account(*(_text(params, name) for name in _BANK_FIELDS))


def _qris_decide(uow: UnitOfWork, params: Params, by: str, wiring: Wiring) -> dict[str, Any]:
    amount = params.get("amount")
    payer = None
    if "bank_code" in params:
        payer = bank_account(*(params[name] for name in _BANK_FIELDS))
    decided = decide_qris_exception(
        uow,
        params["exception_id"],
        Outcome(params["outcome"]),
        by=by,
        note=params["note"],
        merchant=params.get("merchant"),
        amount_units=None if amount is None else amount_units(amount, IDR.code),
        payer_account=payer,
        governed=True,
    )
    return view(decided)


def _check_pi(params: Params) -> None:
    _check_exception(params, "flag_id", PI.code, frozenset({"pioneer"}))


def _pi_decide(uow: UnitOfWork, params: Params, by: str, wiring: Wiring) -> dict[str, Any]:
    amount = params.get("amount")
    decided = decide_pi_flag(
        uow,
        params["flag_id"],
        Outcome(params["outcome"]),
        by=by,
        note=params["note"],
        merchant=params.get("merchant"),
        pioneer=params.get("pioneer"),
        amount_units=None if amount is None else amount_units(amount, PI.code),
        governed=True,
    )
    return view(decided)


def _check_issue(params: Params) -> None:
    _fields(params, {"reference"})
    _text(params, "reference")


def _msc_issue(uow: UnitOfWork, params: Params, by: str, wiring: Wiring) -> dict[str, Any]:
    """Issue at the newest recorded quote's price (``reserve.require_coverage``)."""
    return issuance.issue(uow, params["reference"], by, None, governed=True).view()


_REDEEM_FIELDS = {"holder", "amount", "request_id", *_BANK_FIELDS}


def _redemption(params: Params) -> redemption.RedemptionRequest:
    account = bank_account(*(_text(params, name) for name in _BANK_FIELDS))
    return redemption.RedemptionRequest(
        f"gov:{_text(params, 'request_id')}",
        _text(params, "holder"),
        amount_units(_text(params, "amount"), MSC.code),
        account,
    )


def _check_redeem(params: Params) -> None:
    _fields(params, _REDEEM_FIELDS)
    _redemption(params)


def _msc_redeem(uow: UnitOfWork, params: Params, by: str, wiring: Wiring) -> dict[str, Any]:
    return redemption.redeem(uow, _redemption(params), by, governed=True).view()


def _check_dispute(params: Params) -> None:
    _fields(params, {"checkout_id", "outcome"})
    _text(params, "checkout_id")
    if params["outcome"] not in ("release", "refund"):
        raise GovernanceRefused("outcome is release or refund", code="governance_action_invalid")


def _dispute_decide(uow: UnitOfWork, params: Params, by: str, wiring: Wiring) -> dict[str, Any]:
    if wiring.checkout is None:
        raise InvariantViolation("checkout.dispute_decide executed without the checkout's wiring")
    decided = checkout_service.decide_dispute(
        uow, wiring.checkout, params["checkout_id"], params["outcome"], by, governed=True
    )
    return {"checkout_id": decided.id, "status": str(decided.status)}


def _share_rule(params: Params) -> ShareRule:
    _fields(params, {"rule_id", "allotments"}, frozenset({"cashback_bp", "cashback_cap"}))
    clauses, bp = params["allotments"], params.get("cashback_bp", 0)
    if not isinstance(clauses, list) or isinstance(bp, bool) or not isinstance(bp, int):
        raise GovernanceRefused(
            "allotments is a list of clauses, cashback_bp an integer",
            code="governance_action_invalid",
        )
    cap = params.get("cashback_cap")
    cap_sen = None if cap is None else cap_units(_text(params, "cashback_cap"))
    return parse_rule(_text(params, "rule_id"), clauses, bp, cap_sen)


def _check_share(params: Params) -> None:
    _share_rule(params)


def _share_set(uow: UnitOfWork, params: Params, by: str, wiring: Wiring) -> dict[str, Any]:
    return rule_view(set_rule(uow, _share_rule(params), by))


def _officers_only(params: Params) -> None:
    """Officer actions are checked against the officer set by ``treasury``."""
    del params


def _officers_performed_by_treasury(
    uow: UnitOfWork, params: Params, by: str, wiring: Wiring
) -> dict[str, Any]:
    del uow, params, by
    return {}


ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        a.name: a
        for a in (
            Action("period.close", "Close a month that has ended.", _check_period_close,
                   _period_close),
            Action("parameter.set", "Set a treasury parameter (settlement.parameters).",
                   _check_parameter, _parameter_set),
            Action("share.set", "Set a merchant's (or the default) revenue-share rule.",
                   _check_share, _share_set),
            Action("rate.override", "Enter the treasury's rate of 1 PI in IDR.", _check_rate,
                   _rate_override),
            Action("exception.qris_decide", "Decide a QRIS exception, above the one-officer"
                   " limit too.", _check_qris, _qris_decide),
            Action("exception.pi_decide", "Decide a Pi flag, above the one-officer limit too.",
                   _check_pi, _pi_decide),
            Action("msc.issue", "Issue a booked deposit's MSC, above the one-officer limit"
                   " too.", _check_issue, _msc_issue),
            Action("msc.redeem", "Burn a holder's MSC for Rupiah, above the one-officer limit"
                   " too.", _check_redeem, _msc_redeem),
            Action(DISPUTE_ACTION, "Decide a checkout dispute, above the one-officer"
                   " limit too.", _check_dispute, _dispute_decide),
            Action("fund.claim_decide", "Approve or reject a guarantee-fund claim (beyond the"
                   " caps when beyond_caps is true).",
                   _check_claim, _claim_decide),
            *(
                Action(name, f"Change the officer set ({name}).", _officers_only,
                       _officers_performed_by_treasury)
                for name in sorted(g.OFFICER_ACTIONS)
            ),
        )
    }
)  # fmt: skip
"""Every governed action, by name."""


def action(name: str) -> Action:
    """The action called ``name`` (``governance_action_unknown``)."""
    found = ACTIONS.get(name)
    if found is None:
        raise GovernanceRefused(
            f"no governed action {name!r}; known: {sorted(ACTIONS)}",
            code="governance_action_unknown",
        )
    return found
