"""How a released leg reaches the asset the merchant chose to be settled in.

The merchant's preference per tender (keep PI, convert to MSC, or IDR) is recorded at
onboarding and named in every release's event. Applying it is a conversion at a recorded rate,
provided by an implementation of ``SettlementConversion``: ``KeepTenderAsset`` settles every
leg in its own asset; ``settlement.fund.release.ConvertAtRelease`` (the service's wiring)
converts a Pi leg at the rate at release, with the guarantee fund behind it (decision 0028).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from escrow.model import TransferRequest
from settlement.checkout.model import Checkout, Leg
from settlement.checkout.rules import Event
from settlement.merchants.model import Merchant
from settlement.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class ConversionPlan:
    """A leg's conversion: the transfers linked into the release batch (after the merchant is
    credited), the events to record with it, and what to store once the batch is posted."""

    transfers: tuple[TransferRequest, ...] = ()
    events: tuple[Event, ...] = ()
    after: Callable[[UnitOfWork], None] | None = None


class SettlementConversion(Protocol):
    """The conversion that turns a merchant's released part of a leg into its chosen asset."""

    def prepare(self, uow: UnitOfWork) -> None:
        """Ask what the plans will need from outside (a price) before the release locks
        anything, so that no network call waits while a checkout's row is locked; a failure is
        left for ``plan`` to meet."""
        ...

    def plan(
        self, uow: UnitOfWork, checkout: Checkout, merchant: Merchant, leg: Leg, merchant_units: int
    ) -> ConversionPlan:
        """The plan for ``merchant_units`` of ``leg`` released to ``merchant``; reads only (the
        release may decide again), its ``after`` writes once the batch is posted."""
        ...


class KeepTenderAsset:
    """No conversion: every leg settles in the asset it was paid in."""

    def prepare(self, uow: UnitOfWork) -> None:
        """Nothing to ask."""

    def plan(
        self, uow: UnitOfWork, checkout: Checkout, merchant: Merchant, leg: Leg, merchant_units: int
    ) -> ConversionPlan:
        """Nothing to convert."""
        return ConversionPlan()
