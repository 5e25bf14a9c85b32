"""The refusals of governance, one stable code each (registered in ``settlement.refusals``)."""

from __future__ import annotations

from escrow.refusals import Refusal
from settlement.audit.proposal import ProposalError

CODES = (
    "governance_not_initialised",
    "governance_already_initialised",
    "governance_proposal_malformed",
    "governance_action_unknown",
    "governance_action_invalid",
    "governance_wrong_deployment",
    "governance_proposal_unknown",
    "governance_proposal_expired",
    "governance_proposal_replayed",
    "governance_nonce_used",
    "governance_nonce_ahead",
    "governance_signer_unknown",
    "governance_signature_duplicate",
    "governance_signature_invalid",
    "governance_signatures_insufficient",
    "governance_required",
)
"""Every code a ``GovernanceRefused`` carries."""


class GovernanceRefused(Refusal):
    """A proposal, signature or execution refused; nothing was recorded or done."""

    code = "governance_proposal_malformed"


def refused(error: ProposalError) -> GovernanceRefused:
    """The offline codec's error as the service's refusal, same code."""
    return GovernanceRefused(error.reason, code=error.code)
