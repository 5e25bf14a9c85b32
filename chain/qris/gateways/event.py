"""The normalised QRIS payment event every gateway adapter produces."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chain.qris.gateways.errors import NotificationMalformed

PROVIDER_TX_ID_CHARS_MAX = 128
AMOUNT_SEN_MAX = 2**63 - 1
"""The store's limits (qris_events: provider_tx_id of 1..128 characters, BIGINT sen)."""


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

    def __post_init__(self) -> None:
        """Refuse what the store could not hold, so a gateway's oddity is a 400, not a crash."""
        if not 0 < len(self.provider_tx_id) <= PROVIDER_TX_ID_CHARS_MAX:
            raise NotificationMalformed(
                f"transaction id must be 1..{PROVIDER_TX_ID_CHARS_MAX} characters"
            )
        texts = (self.provider_tx_id, self.provider_status, self.rrn, self.nmid, self.reference)
        if any("\x00" in value for value in texts if value is not None):
            raise NotificationMalformed("a text field holds a NUL character")
        for amount in (self.amount_sen, self.fee_sen):
            if amount is not None and not 0 <= amount <= AMOUNT_SEN_MAX:
                raise NotificationMalformed(f"amount {amount} sen is out of range")
