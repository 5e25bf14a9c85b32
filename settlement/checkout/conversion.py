"""How a released leg reaches the asset the merchant chose to be settled in.

The merchant's preference per tender (keep PI, convert to MSC, or IDR) is recorded at
onboarding and named in every release's event. Applying it is a conversion at a recorded rate,
which the conversion process provides by implementing ``SettlementConversion``; until then
``KeepTenderAsset`` settles a Pi leg in PI, a QRIS leg in IDR, MSC in MSC and points in points.
"""

from __future__ import annotations

from typing import Protocol

from escrow.model import TransferRequest
from settlement.checkout.model import Leg
from settlement.merchants.model import Merchant


class SettlementConversion(Protocol):
    """The transfers that turn a merchant's released part of a leg into its chosen asset."""

    def transfers(
        self, merchant: Merchant, leg: Leg, merchant_units: int
    ) -> tuple[TransferRequest, ...]:
        """Linked into the release batch after the merchant is credited ``merchant_units``."""
        ...


class KeepTenderAsset:
    """No conversion: every leg settles in the asset it was paid in."""

    def transfers(
        self, merchant: Merchant, leg: Leg, merchant_units: int
    ) -> tuple[TransferRequest, ...]:
        """Nothing to convert."""
        return ()
