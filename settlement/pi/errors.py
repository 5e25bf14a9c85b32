"""The Pi rail's refusals: a stable code; its HTTP status is in ``settlement.refusals``."""

from __future__ import annotations

from escrow.refusals import Refusal


class PiRefusal(Refusal):
    """A Pi request refused for a stated reason; nothing was posted."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, code=code)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


RETRYABLE_CODES = ("pi_unavailable", "pi_bad_response", "pi_tx_not_found")
"""Refusals that say Pi or Horizon could not answer yet, not that the payment is wrong: the
scheduled jobs try again instead of flagging."""
