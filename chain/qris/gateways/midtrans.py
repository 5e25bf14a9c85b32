"""Midtrans HTTP notification (payment_type qris): SHA-512 signature_key, confirmed by status."""

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chain.qris.gateways.base import (
    field,
    load_json_object,
    optional_field,
    to_sen,
    wib_naive_to_utc,
)
from chain.qris.gateways.errors import (
    NotificationMalformed,
    NotificationUnauthenticated,
    NotificationUnconfirmed,
)
from chain.qris.gateways.event import EventStatus, QrisEvent
from chain.qris.gateways.midtrans_status import MidtransStatusSource

STATUSES: dict[str, EventStatus] = {
    "capture": EventStatus.PAID,
    "settlement": EventStatus.PAID,
    "pending": EventStatus.PENDING,
    "deny": EventStatus.FAILED,
    "cancel": EventStatus.CANCELLED,
    "expire": EventStatus.EXPIRED,
    "failure": EventStatus.FAILED,
    "refund": EventStatus.REFUNDED,
    "partial_refund": EventStatus.PARTIALLY_REFUNDED,
}


def midtrans_signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    """SHA512(order_id + status_code + gross_amount + server key), hex, over the fields as sent."""
    material = order_id + status_code + gross_amount + server_key
    return hashlib.sha512(material.encode("utf-8")).hexdigest()


class MidtransAdapter:
    """Verifies ``signature_key`` with the merchant's server key, then confirms with Midtrans.

    The signature covers only order_id, status_code and gross_amount; transaction_status,
    transaction_id, the RRN and the times are not authenticated. ``confirm`` therefore asks the
    GET Status API and the event is built from Midtrans' answer, never from the notification.
    """

    provider = "midtrans"

    def __init__(self, server_key: str, status: MidtransStatusSource) -> None:
        if not server_key:
            raise ValueError("Midtrans server key is empty")
        self._server_key = server_key
        self._status = status

    def parse(
        self, headers: Mapping[str, str], body: bytes, *, path: str, now: datetime
    ) -> QrisEvent:
        """Refuse unless the signature matches; the fields are hashed exactly as received."""
        document = load_json_object(body)
        raw_amount = document.get("gross_amount")
        if not isinstance(raw_amount, str):
            # Midtrans sends gross_amount as a string ("789000.00"); the signature covers that text.
            raise NotificationMalformed("gross_amount must be the string Midtrans sends")
        expected = midtrans_signature(
            field(document, "order_id"), field(document, "status_code"), raw_amount,
            self._server_key,
        )  # fmt: skip
        given = document.get("signature_key")
        if not isinstance(given, str) or not hmac.compare_digest(given.lower(), expected):
            raise NotificationUnauthenticated("Midtrans signature_key does not verify")
        return midtrans_event(document)

    def confirm(self, notified: QrisEvent) -> QrisEvent:
        """The event as Midtrans' status API tells it; it must be the same transaction.

        order_id and gross_amount are signed and must agree; transaction_id must agree too (a
        forged one names another payment); the fetched transaction_status decides.
        """
        if notified.reference is None:
            raise NotificationMalformed("a Midtrans notification names its order_id")
        fetched = midtrans_event(self._status.fetch(notified.reference))
        for name in ("reference", "amount_sen", "provider_tx_id"):
            if getattr(fetched, name) != getattr(notified, name):
                raise NotificationUnconfirmed(
                    f"Midtrans' status API disagrees on {name}: notified"
                    f" {getattr(notified, name)!r}, fetched {getattr(fetched, name)!r}"
                )
        return fetched


def midtrans_event(document: Mapping[str, Any]) -> QrisEvent:
    """Normalise a Midtrans transaction document (a notification or a status answer)."""
    status_text = field(document, "transaction_status")
    status = STATUSES.get(status_text)
    if status is None:
        raise NotificationMalformed(f"unknown Midtrans transaction_status {status_text!r}")
    paid_at = None
    if status is EventStatus.PAID:
        when = optional_field(document, "settlement_time") or field(document, "transaction_time")
        paid_at = wib_naive_to_utc(when, "settlement_time")
    raw_amount = document.get("gross_amount")
    return QrisEvent(
        provider=MidtransAdapter.provider,
        provider_tx_id=field(document, "transaction_id"),
        status=status,
        provider_status=status_text,
        amount_sen=to_sen(raw_amount, "gross_amount"),
        rrn=optional_field(document, "reference_id"),
        nmid=optional_field(document, "nmid"),
        reference=field(document, "order_id"),
        paid_at=paid_at,
    )
