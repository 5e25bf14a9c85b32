"""The normalised QRIS payment event every gateway adapter produces."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventStatus(StrEnum):
    """Where a QRIS payment stands; ``rank`` orders them so status never moves backwards."""

    PENDING = "pending"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"

    @property
    def rank(self) -> int:
        """Pending < failed/expired/cancelled < paid < partially refunded < refunded.

        A payment that lands after its expiry is real money, so paid outranks expired.
        """
        return _RANK[self]


_RANK = {
    EventStatus.PENDING: 0,
    EventStatus.FAILED: 1,
    EventStatus.EXPIRED: 1,
    EventStatus.CANCELLED: 1,
    EventStatus.PAID: 2,
    EventStatus.PARTIALLY_REFUNDED: 3,
    EventStatus.REFUNDED: 4,
}


@dataclass(frozen=True, slots=True)
class QrisEvent:
    """One verified gateway notification; amounts in IDR sen, times in UTC."""

    provider: str
    provider_tx_id: str
    status: EventStatus
    provider_status: str
    amount_sen: int
    fee_sen: int | None = None
    rrn: str | None = None
    nmid: str | None = None
    reference: str | None = None
    paid_at: datetime | None = None
