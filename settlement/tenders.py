"""The tenders a checkout accepts, the asset each one pays in, and what a merchant may settle in.

A tender is how the Pioneer pays (Pi from the Pi app, QRIS from a bank or e-wallet app, MSC or
MSCP from the Pioneer's ledger balance); the asset is what lands in escrow. A merchant chooses,
per tender, the asset it is paid out in (``SETTLEMENT_CHOICES``); converting is the conversion
issue's work, so until then every tender settles in its own asset.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

__all__ = ["SETTLEMENT_CHOICES", "TENDER_ASSET", "Tender"]


class Tender(StrEnum):
    """A way to pay a checkout."""

    PI = "PI"
    QRIS = "QRIS"
    MSC = "MSC"
    MSCP = "MSCP"


TENDER_ASSET: Mapping[Tender, str] = MappingProxyType(
    {Tender.PI: "PI", Tender.QRIS: "IDR", Tender.MSC: "MSC", Tender.MSCP: "MSCP"}
)
"""The asset each tender pays into escrow in."""

SETTLEMENT_CHOICES: Mapping[Tender, frozenset[str]] = MappingProxyType(
    {
        Tender.PI: frozenset({"PI", "MSC", "IDR"}),
        Tender.QRIS: frozenset({"IDR", "MSC"}),
        Tender.MSC: frozenset({"MSC", "IDR"}),
        Tender.MSCP: frozenset({"MSCP", "IDR"}),
    }
)
"""The assets a merchant may choose to be settled in, per tender (its own asset always among
them)."""
