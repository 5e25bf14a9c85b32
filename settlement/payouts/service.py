"""The payout use cases as the entrypoints (HTTP, CLI) call them, and the policy from settings."""

from __future__ import annotations

from settlement.config import Settings
from settlement.payouts.confirm import Confirmed, confirm
from settlement.payouts.cut import CutPolicy, CutResult, cut
from settlement.payouts.transfer_file import stream_file

__all__ = ["Confirmed", "CutPolicy", "CutResult", "confirm", "cut", "policy", "stream_file"]


def policy(settings: Settings) -> CutPolicy:
    """The cut's policy from ``MSC_PAYOUT_CUTOFF_WIB`` and ``MSC_PAYOUT_LINES_MAX``."""
    return CutPolicy.of(settings.payout_cutoff_wib, settings.payout_lines_max)
