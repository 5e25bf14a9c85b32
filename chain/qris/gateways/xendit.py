"""Xendit QR Codes callback (event qr.payment, API version 2022-07-31), X-CALLBACK-TOKEN."""

import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chain.qris.gateways.base import (
    field,
    header,
    iso_to_utc,
    load_json_object,
    optional_field,
    to_sen,
)
from chain.qris.gateways.errors import NotificationMalformed, NotificationUnauthenticated
from chain.qris.gateways.event import EventStatus, QrisEvent

STATUSES: dict[str, EventStatus] = {
    "SUCCEEDED": EventStatus.PAID,
    "COMPLETED": EventStatus.PAID,
    "FAILED": EventStatus.FAILED,
}
EVENTS = frozenset({"qr.payment"})


class XenditAdapter:
    """Compares the callback token in constant time, then normalises ``data``."""

    provider = "xendit"

    def __init__(self, callback_token: str) -> None:
        if not callback_token:
            raise ValueError("Xendit callback token is empty")
        self._token = callback_token

    def parse(
        self, headers: Mapping[str, str], body: bytes, *, path: str, now: datetime
    ) -> QrisEvent:
        """Refuse unless X-CALLBACK-TOKEN equals the dashboard's verification token."""
        token = header(headers, "X-CALLBACK-TOKEN")
        if not token or not hmac.compare_digest(token.encode(), self._token.encode()):
            raise NotificationUnauthenticated("X-CALLBACK-TOKEN does not match")
        document = load_json_object(body)
        event = field(document, "event")
        if event not in EVENTS:
            raise NotificationMalformed(f"unsupported Xendit event {event!r}")
        data = document.get("data")
        if not isinstance(data, dict):
            raise NotificationMalformed("Xendit callback has no data object")
        if data.get("currency", "IDR") != "IDR":
            raise NotificationMalformed(f"currency {data.get('currency')!r} is not IDR")
        status_text = field(data, "status")
        status = STATUSES.get(status_text)
        if status is None:
            raise NotificationMalformed(f"unknown Xendit status {status_text!r}")
        detail: dict[str, Any] = data.get("payment_detail") or {}
        return QrisEvent(
            provider=self.provider,
            provider_tx_id=field(data, "id"),
            status=status,
            provider_status=status_text,
            amount_sen=to_sen(data.get("amount"), "amount"),
            rrn=optional_field(detail, "receipt_id") if isinstance(detail, dict) else None,
            reference=optional_field(data, "reference_id"),
            paid_at=iso_to_utc(field(data, "created"), "created")
            if status is EventStatus.PAID
            else None,
        )

    def confirm(self, notified: QrisEvent) -> QrisEvent:
        """As notified: the callback token authenticates the sender of the whole body."""
        return notified
