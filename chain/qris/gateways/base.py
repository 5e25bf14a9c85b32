"""Interface of a gateway adapter and the small parsing helpers they share."""

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from chain.qris.gateways.errors import NotificationMalformed
from chain.qris.gateways.event import QrisEvent
from escrow.calendar import WIB
from escrow.money import IDR, AmountRefused, parse_amount

NOTIFICATION_BYTES_MAX = 64 * 1024


class GatewayAdapter(Protocol):
    """Verifies one provider's notification, turns it into a QrisEvent, confirms the unsigned."""

    provider: str

    def parse(
        self, headers: Mapping[str, str], body: bytes, *, path: str, now: datetime
    ) -> QrisEvent:
        """Verify authenticity first, then parse; raise NotificationError subclasses."""
        ...

    def confirm(self, notified: QrisEvent) -> QrisEvent:
        """The event to apply: ``notified`` if its signature covers every field, else the gateway's.

        May do I/O; raises ``GatewayUnavailable`` when the gateway must be asked again later.
        """
        ...


def load_json_object(body: bytes) -> dict[str, Any]:
    """The notification body as a JSON object, bounded in size."""
    if len(body) > NOTIFICATION_BYTES_MAX:
        raise NotificationMalformed(f"body of {len(body)} bytes exceeds {NOTIFICATION_BYTES_MAX}")
    try:
        document = json.loads(body, parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as error:
        raise NotificationMalformed(f"body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise NotificationMalformed("body is not a JSON object")
    return document


def field(document: Mapping[str, Any], name: str) -> str:
    """A required non-empty string (numbers are accepted as their JSON text)."""
    value = document.get(name)
    if isinstance(value, bool) or value is None:
        raise NotificationMalformed(f"field {name!r} is missing")
    if isinstance(value, int | Decimal):
        return str(value)
    if not isinstance(value, str) or not value:
        raise NotificationMalformed(f"field {name!r} must be a non-empty string")
    return value


def optional_field(document: Mapping[str, Any], name: str) -> str | None:
    """An optional string; absent, null and "" all mean absent."""
    if document.get(name) in (None, ""):
        return None
    return field(document, name)


def to_sen(value: object, name: str) -> int:
    """Exact sen from a decimal string or JSON number; never rounded (``escrow.money``).

    The refusal carries the amount's stable code (``amount_too_precise``, ...).
    """
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise NotificationMalformed(f"{name} must be a decimal string or integer, got {value!r}")
    try:
        return parse_amount(str(value), IDR.scale, allow_zero=True)
    except AmountRefused as refused:
        raise NotificationMalformed(f"{name}: {refused}", code=refused.code) from None


def wib_naive_to_utc(text: str, name: str) -> datetime:
    """Midtrans writes 'YYYY-MM-DD HH:MM:SS' in WIB without an offset."""
    try:
        naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - zone added below
    except ValueError:
        raise NotificationMalformed(f"{name} {text!r} is not 'YYYY-MM-DD HH:MM:SS'") from None
    return naive.replace(tzinfo=WIB).astimezone(UTC)


def iso_to_utc(text: str, name: str) -> datetime:
    """An ISO 8601 time that must carry its offset (or Z)."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise NotificationMalformed(f"{name} {text!r} is not ISO 8601") from None
    if parsed.tzinfo is None:
        raise NotificationMalformed(f"{name} {text!r} has no timezone offset")
    return parsed.astimezone(UTC)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
