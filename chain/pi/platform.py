"""Client of the Pi Platform API v2 (https://api.minepi.com/v2, see pi-apps/pi-platform-docs)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import cast

from chain.pi import amounts
from chain.pi.dto import PiPayment, PiUser, parse_payment, parse_user
from chain.pi.errors import (
    API_ERRORS,
    PiApiError,
    PiResponseError,
    PiUnauthorizedError,
)
from chain.pi.ids import check_payment_id, check_txid, check_uid
from chain.pi.transport import JsonReply, JsonTransport

incomplete_payments_max = 500
_ACCESS_TOKEN = re.compile(r"[\x21-\x7e]{1,4096}")
"""What a bearer token in a header can be: visible ASCII (RFC 9110 field-vchar without obs-text)."""


class PiPlatformClient:
    """Typed Platform API calls; server calls use `Authorization: Key`, /me uses `Bearer`."""

    def __init__(self, transport: JsonTransport, base_url: str, api_key: str) -> None:
        self._http = transport
        self._base = base_url.rstrip("/") + "/v2"
        self._key_header = {"Authorization": f"Key {api_key}"}

    def me(self, access_token: str) -> PiUser:
        """Who owns this access token (401 from Pi means a forged or expired token)."""
        if not _ACCESS_TOKEN.fullmatch(access_token):
            raise PiUnauthorizedError("malformed access token")
        reply = self._http.request(
            "GET", f"{self._base}/me", headers={"Authorization": f"Bearer {access_token}"}
        )
        return parse_user(self._ok(reply))

    def get_payment(self, payment_id: str) -> PiPayment:
        """Fetch a payment."""
        pid = check_payment_id(payment_id)
        return self._payment("GET", f"/payments/{pid}")

    def approve(self, payment_id: str) -> PiPayment:
        """Server-side approval."""
        pid = check_payment_id(payment_id)
        return self._payment("POST", f"/payments/{pid}/approve", {})

    def complete(self, payment_id: str, txid: str) -> PiPayment:
        """Server-side completion with the transaction we verified."""
        pid = check_payment_id(payment_id)
        return self._payment("POST", f"/payments/{pid}/complete", {"txid": check_txid(txid)})

    def cancel(self, payment_id: str) -> PiPayment:
        """Cancel a payment that has no transaction."""
        pid = check_payment_id(payment_id)
        return self._payment("POST", f"/payments/{pid}/cancel", {})

    def incomplete_server_payments(self) -> list[PiPayment]:
        """A2U payments created but not completed by us."""
        reply = self._http.request(
            "GET", f"{self._base}/payments/incomplete_server_payments", headers=self._key_header
        )
        body = self._ok(reply)
        items = body.get("incomplete_server_payments") if isinstance(body, Mapping) else None
        if not isinstance(items, list):
            raise PiResponseError("missing 'incomplete_server_payments' list")
        if len(items) > incomplete_payments_max:
            raise PiResponseError("too many incomplete payments in one response")
        return [parse_payment(item) for item in cast(list[object], items)]

    def create_payment(
        self, *, amount_units: int, memo: str, metadata: Mapping[str, object], uid: str
    ) -> PiPayment:
        """Create an A2U payment (the amount is sent as an exact decimal number)."""
        body = {
            "payment": {
                "amount": amounts.to_decimal(amount_units),
                "memo": memo,
                "metadata": dict(metadata),
                "uid": check_uid(uid),
            }
        }
        return self._payment("POST", "/payments", body)

    def _payment(self, method: str, path: str, body: object = None) -> PiPayment:
        reply = self._http.request(
            method, f"{self._base}{path}", headers=self._key_header, json_body=body
        )
        return parse_payment(self._ok(reply))

    def _ok(self, reply: JsonReply) -> Mapping[str, object]:
        if 200 <= reply.status < 300:
            if not isinstance(reply.body, Mapping):
                raise PiResponseError(f"expected a JSON object, got: {reply.snippet!r}")
            return cast(Mapping[str, object], reply.body)
        raise error_from_reply(reply)


def error_from_reply(reply: JsonReply) -> Exception:
    """Map a 4xx reply to the typed error for its documented `error` code."""
    if reply.status in (401, 403) and not _api_code(reply.body):
        return PiUnauthorizedError(f"refused by Pi (HTTP {reply.status})")
    body = reply.body if isinstance(reply.body, Mapping) else {}
    api_code = _api_code(body) or "unknown_error"
    message = str(body.get("error_message") or reply.snippet or f"HTTP {reply.status}")
    payment = None
    if isinstance(body.get("payment"), Mapping):
        try:
            payment = parse_payment(body["payment"])
        except PiResponseError:
            payment = None
    cls = API_ERRORS.get(api_code, PiApiError)
    verification = body.get("verification_error")
    return cls(
        message,
        api_code=api_code,
        status=reply.status,
        payment=payment,
        verification_error=verification if isinstance(verification, str) else None,
    )


def _api_code(body: object) -> str | None:
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        return cast(str, body["error"])
    return None
