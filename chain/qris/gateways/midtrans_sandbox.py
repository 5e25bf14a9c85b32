"""A local stand-in for Midtrans: its GET Status API over an in-memory book of transactions.

Tests and the embedded default ask it instead of Midtrans (``MSC_QRIS_MIDTRANS_API_URL`` left at
``MIDTRANS_SANDBOX_URL``; production refuses that). ``record`` sets what Midtrans knows about an
order; ``notification`` writes the signed HTTP notification Midtrans would send for it.
"""

import base64
import binascii
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chain.qris.gateways.midtrans import midtrans_signature

_NOT_FOUND = {"status_code": "404", "status_message": "Transaction doesn't exist."}
_STATUS_CODES = {"settlement": "200", "capture": "200", "pending": "201", "deny": "202",
                 "cancel": "200", "expire": "407", "refund": "200", "partial_refund": "200",
                 "failure": "202"}  # fmt: skip


@dataclass
class MidtransSandbox:
    """What Midtrans knows, by order_id; answers only requests with this server key."""

    server_key: str
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: bool = False
    """While set, every request is answered 503, as during a Midtrans outage."""

    def record(
        self,
        order_id: str,
        *,
        transaction_id: str,
        transaction_status: str,
        gross_amount: str,
        transaction_time: str = "2024-12-02 09:05:00",
        **extra: str,
    ) -> dict[str, Any]:
        """Set (or move) a QRIS transaction's state; returns its status document."""
        document: dict[str, Any] = {
            "status_code": _STATUS_CODES.get(transaction_status, "200"),
            "status_message": "Success, transaction is found",
            "transaction_id": transaction_id,
            "order_id": order_id,
            "gross_amount": gross_amount,
            "currency": "IDR",
            "payment_type": "qris",
            "transaction_time": transaction_time,
            "transaction_status": transaction_status,
            "fraud_status": "accept",
            **extra,
        }
        document["signature_key"] = midtrans_signature(
            order_id, document["status_code"], gross_amount, self.server_key
        )
        self.transactions[order_id] = document
        return document

    def notification(self, order_id: str, **override: str) -> bytes:
        """The signed HTTP notification body for ``order_id``, with ``override`` applied.

        The signature is computed after the override: a test may forge what a forger cannot.
        """
        document = {**self.transactions[order_id], **override}
        document["signature_key"] = midtrans_signature(
            document["order_id"], document["status_code"], document["gross_amount"],
            self.server_key,
        )  # fmt: skip
        return json.dumps(document).encode()

    def authorised(self, header: str | None) -> bool:
        """Basic auth with the server key as user and an empty password."""
        if header is None or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header.removeprefix("Basic "), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(decoded, self.server_key + ":")


def build_midtrans_app(sandbox: MidtransSandbox) -> Starlette:
    """The ASGI app: ``GET /v2/{order_id}/status`` as Midtrans answers it."""

    async def status(request: Request) -> JSONResponse:
        if sandbox.down:
            return JSONResponse({"status_code": "503"}, status_code=503)
        if not sandbox.authorised(request.headers.get("authorization")):
            body = {"status_code": "401", "status_message": "Access denied"}
            return JSONResponse(body, status_code=401)
        document = sandbox.transactions.get(request.path_params["order_id"])
        if document is None:
            return JSONResponse(_NOT_FOUND, status_code=404)
        return JSONResponse(document)

    return Starlette(routes=[Route("/v2/{order_id}/status", status, methods=["GET"])])
