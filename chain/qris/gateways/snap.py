"""Bank Indonesia SNAP QR MPM notify (POST /v1.0/qr/qr-mpm-notify), asymmetric signature.

X-SIGNATURE = base64(SHA256withRSA(private key, stringToSign)), where stringToSign is
METHOD:path:lowercase(hex(SHA-256(minified body))):X-TIMESTAMP.
We verify with the PJP's public key; X-TIMESTAMP must be close to our clock.
"""

import base64
import binascii
import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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

SNAP_NOTIFY_PATH = "/v1.0/qr/qr-mpm-notify"
SNAP_NOTIFY_SERVICE_CODE = "52"
TIMESTAMP_SKEW_S_MAX = 300
STATUSES: dict[str, EventStatus] = {
    "00": EventStatus.PAID,
    "01": EventStatus.PENDING,
    "02": EventStatus.PENDING,
    "03": EventStatus.PENDING,
    "04": EventStatus.REFUNDED,
    "05": EventStatus.CANCELLED,
    "06": EventStatus.FAILED,
}


def minify_json(body: bytes) -> str:
    """Drop whitespace outside strings, keeping every other byte (and key order) as sent."""
    text = body.decode("utf-8")
    out: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif char not in " \t\r\n":
            out.append(char)
    return "".join(out)


def string_to_sign(method: str, path: str, body: bytes, timestamp: str) -> str:
    """SNAP's asymmetric stringToSign for a request with a JSON body."""
    digest = hashlib.sha256(minify_json(body).encode("utf-8")).hexdigest().lower()
    return f"{method.upper()}:{path}:{digest}:{timestamp}"


class SnapQrNotifyAdapter:
    """Verifies the PJP's SHA256withRSA signature and timestamp, then normalises."""

    provider = "snap"

    def __init__(self, public_key_pem: bytes, *, skew_s_max: int = TIMESTAMP_SKEW_S_MAX) -> None:
        key = serialization.load_pem_public_key(public_key_pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("SNAP notify key must be an RSA public key")
        self._key = key
        self._skew = timedelta(seconds=skew_s_max)

    def parse(
        self, headers: Mapping[str, str], body: bytes, *, path: str, now: datetime
    ) -> QrisEvent:
        """Refuse unless X-SIGNATURE verifies over this method, path, body and X-TIMESTAMP."""
        self._verify(headers, body, path, now)
        document = load_json_object(body)
        status_text = field(document, "latestTransactionStatus")
        status = STATUSES.get(status_text)
        if status is None:
            raise NotificationMalformed(f"unknown latestTransactionStatus {status_text!r}")
        amount = document.get("amount")
        if not isinstance(amount, dict) or amount.get("currency") != "IDR":
            raise NotificationMalformed("amount must be an object in IDR")
        info: dict[str, Any] = document.get("additionalInfo") or {}
        if not isinstance(info, dict):
            raise NotificationMalformed("additionalInfo must be an object")
        paid_time = optional_field(info, "paidTime")
        return QrisEvent(
            provider=self.provider,
            provider_tx_id=field(document, "originalReferenceNo"),
            status=status,
            provider_status=status_text,
            amount_sen=to_sen(amount.get("value"), "amount.value"),
            fee_sen=_fee_sen(document, info),
            rrn=optional_field(info, "rrn"),
            nmid=optional_field(info, "nmid"),
            reference=optional_field(document, "originalPartnerReferenceNo")
            or optional_field(info, "invoice"),
            paid_at=iso_to_utc(paid_time, "paidTime") if paid_time else None,
        )

    def confirm(self, notified: QrisEvent) -> QrisEvent:
        """As notified: X-SIGNATURE covers the whole body, every field is authenticated."""
        return notified

    def _verify(self, headers: Mapping[str, str], body: bytes, path: str, now: datetime) -> None:
        timestamp = header(headers, "X-TIMESTAMP")
        signature = header(headers, "X-SIGNATURE")
        if not timestamp or not signature:
            raise NotificationUnauthenticated("X-TIMESTAMP and X-SIGNATURE are required")
        try:
            sent_at = iso_to_utc(timestamp, "X-TIMESTAMP")
            raw_signature = base64.b64decode(signature, validate=True)
            message = string_to_sign("POST", path, body, timestamp).encode("utf-8")
        except (NotificationMalformed, binascii.Error, UnicodeDecodeError):
            raise NotificationUnauthenticated("X-TIMESTAMP or X-SIGNATURE is malformed") from None
        if abs(now - sent_at) > self._skew:
            raise NotificationUnauthenticated("X-TIMESTAMP is too far from our clock")
        try:
            self._key.verify(raw_signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise NotificationUnauthenticated("X-SIGNATURE does not verify") from None


def _fee_sen(document: Mapping[str, Any], info: Mapping[str, Any]) -> int | None:
    """The fee the PJP reports: feeAmount (top level or in additionalInfo), else an mdr amount.

    A bare ``mdr`` (no currency object) is a rate in some PJPs' dialects, not an amount: ignored.
    """
    for container, name in ((document, "feeAmount"), (info, "feeAmount"), (info, "FeeAmount")):
        fee = container.get(name)
        if isinstance(fee, dict):
            return to_sen(fee.get("value"), name)
    mdr = info.get("mdr")
    if isinstance(mdr, dict):
        return to_sen(mdr.get("value"), "mdr")
    return None
