"""The guarantee fund's refusals (codes registered in settlement/refusals.py)."""

from __future__ import annotations

from escrow.refusals import Refusal


class ContributionInvalid(Refusal, ValueError):
    """A reference, source, contributor, amount or memo a contribution cannot have."""

    code = "fund_contribution_invalid"


class ContributionConflict(Refusal, ValueError):
    """This reference is already booked as another contribution."""

    code = "fund_contribution_conflict"


class ClaimInvalid(Refusal, ValueError):
    """A kind, merchant, amount or evidence a claim cannot have."""

    code = "fund_claim_invalid"


class ClaimConflict(Refusal, ValueError):
    """This request already filed another claim."""

    code = "fund_claim_conflict"


class ClaimUnknown(Refusal, LookupError):
    """No claim has this id."""

    code = "fund_claim_unknown"


class ClaimDecided(Refusal, ValueError):
    """The claim was already decided."""

    code = "fund_claim_decided"


class ClaimOverCap(Refusal, ValueError):
    """The amount is over the fund's cap: ``fund_claim_over_cap`` (per claim) or
    ``fund_merchant_month_cap`` (what the merchant may still be paid this WIB month)."""

    code = "fund_claim_over_cap"


class FundInsufficient(Refusal, ValueError):
    """The fund holds less than the payment."""

    code = "fund_insufficient_balance"
