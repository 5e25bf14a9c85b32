"""A merchant as the service knows it: where it is (kelurahan, RT), how it may be paid (tenders,
its static QRIS) and what it is paid out in (its settlement choice per tender)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from escrow.calendar import from_us, iso_of_us
from escrow.refusals import Refusal
from settlement.tenders import TENDER_ASSET, Tender

__all__ = ["CRITERIA", "Merchant", "MerchantRefused", "MerchantRequest", "MerchantStatus"]

CRITERIA = ("UMI", "UKE", "UME", "UBE", "URE")
"""Bank Indonesia's merchant criteria (micro, small, medium, large, regular), which select the
QRIS MDR."""


class MerchantStatus(StrEnum):
    """Whether a merchant may take new checkouts."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class MerchantRefused(Refusal):
    """A merchant cannot be onboarded, found or used (codes ``merchant_*``)."""

    code = "merchant_invalid"


_EMPTY: Mapping[Tender, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class MerchantRequest:
    """What the treasury onboards a merchant with. ``settlement`` names the asset per tender the
    merchant wants to be paid out in (a tender left out settles in its own asset); ``nmid`` may
    be left out when ``static_qris`` carries it."""

    id: str
    name: str
    kelurahan: str
    tenders: frozenset[Tender]
    rt: str | None = None
    criteria: str = "UMI"
    nmid: str | None = None
    static_qris: str | None = None
    settlement: Mapping[Tender, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Merchant:
    """An onboarded merchant; ``settlement`` has an entry for every accepted tender. Times are
    µs since the epoch."""

    id: str
    name: str
    kelurahan: str
    rt: str | None
    criteria: str
    nmid: str | None
    static_qris: str | None
    tenders: frozenset[Tender]
    settlement: Mapping[Tender, str]
    status: MerchantStatus
    created_at_us: int = 0
    created_by: str = ""
    status_changed_at_us: int | None = None
    status_changed_by: str | None = None

    def settles(self, tender: Tender) -> str:
        """The asset the merchant chose to be paid out in for ``tender`` (its own by default)."""
        return self.settlement.get(tender, TENDER_ASSET[tender])

    @property
    def active(self) -> bool:
        """A suspended merchant takes no new checkouts."""
        return self.status is MerchantStatus.ACTIVE

    def view(self) -> dict[str, object]:
        """The merchant as JSON-ready data (the API's answer, the CLI's output); times ISO 8601."""
        changed = self.status_changed_at_us
        return {
            "id": self.id,
            "name": self.name,
            "kelurahan": self.kelurahan,
            "rt": self.rt,
            "criteria": self.criteria,
            "nmid": self.nmid,
            "static_qris": self.static_qris,
            "tenders": [str(t) for t in Tender if t in self.tenders],
            "settlement": {str(t): self.settles(t) for t in Tender if t in self.tenders},
            "status": str(self.status),
            "created_at": from_us(self.created_at_us).isoformat(),
            "created_by": self.created_by,
            "status_changed_at": iso_of_us(changed),
            "status_changed_by": self.status_changed_by,
        }

    def same_fields(self, other: Merchant) -> bool:
        """Whether ``other`` was onboarded with the same fields (status and times aside): an
        onboarding repeated with them is the same merchant."""
        return _fields(self) == _fields(other)


def _fields(m: Merchant) -> tuple[object, ...]:
    settlement = tuple(sorted((str(t), a) for t, a in m.settlement.items()))
    tenders = tuple(sorted(m.tenders))
    return (m.id, m.name, m.kelurahan, m.rt, m.criteria, m.nmid, m.static_qris, tenders, settlement)
