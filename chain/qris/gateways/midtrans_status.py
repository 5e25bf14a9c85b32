"""Midtrans' GET Status API: the port the notification use case confirms with, and its adapter.

``GET {base}/v2/{order_id}/status`` with HTTP Basic auth (server key as user, empty password)
answers the transaction as Midtrans holds it, in the notification's own shape. One attempt per
notification: Midtrans waits at most 15 s for our answer and retries the notification itself.
"""

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from chain.qris.gateways.errors import GatewayUnavailable, NotificationUnconfirmed

MIDTRANS_API_URL = "https://api.midtrans.com"
"""Production; Midtrans' own sandbox is https://api.sandbox.midtrans.com."""
status_connect_timeout_s = 2.0
status_read_timeout_s = 5.0
"""Together well inside the 15 s Midtrans gives a notification to be answered."""
status_response_bytes_max = 64 * 1024
order_id_chars_max = 50
"""Midtrans' own limit on order_id."""


class MidtransStatusSource(Protocol):
    """Where the current status of a Midtrans transaction is read from."""

    def fetch(self, order_id: str) -> Mapping[str, Any]:
        """The status document of ``order_id``.

        Raises ``NotificationUnconfirmed`` when Midtrans does not know the transaction, and
        ``GatewayUnavailable`` when it cannot be asked or answers unreadably (retry later).
        """
        ...


class HttpMidtransStatus:
    """The GET Status API over one injected ``httpx.Client``."""

    def __init__(self, client: httpx.Client, base_url: str, server_key: str) -> None:
        if not server_key:
            raise ValueError("Midtrans server key is empty")
        self._client = client
        self._base = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(server_key, "")

    def fetch(self, order_id: str) -> Mapping[str, Any]:
        """The status document of ``order_id`` (see ``MidtransStatusSource.fetch``)."""
        if not order_id or len(order_id) > order_id_chars_max:
            raise NotificationUnconfirmed(f"order_id of {len(order_id)} characters is refused")
        url = f"{self._base}/v2/{quote(order_id, safe='')}/status"
        timeout = httpx.Timeout(status_read_timeout_s, connect=status_connect_timeout_s)
        try:
            with self._client.stream(
                "GET", url, auth=self._auth, timeout=timeout, headers={"Accept": "application/json"}
            ) as response:
                body = _bounded_body(response)
        except httpx.HTTPError as error:
            raise GatewayUnavailable(f"Midtrans status API unreachable: {error!r}") from None
        return _document(response.status_code, body)


def _bounded_body(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > status_response_bytes_max:
            raise GatewayUnavailable(f"Midtrans status answer exceeds {status_response_bytes_max}")
        chunks.append(chunk)
    return b"".join(chunks)


def _document(http_status: int, body: bytes) -> Mapping[str, Any]:
    """The answer's JSON object; Midtrans puts its own status_code in the body too."""
    try:
        document = json.loads(body, parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        document = None
    code = str(document.get("status_code")) if isinstance(document, dict) else None
    if http_status == 404 or code == "404":
        raise NotificationUnconfirmed("Midtrans does not know this transaction")
    if http_status != 200 or not isinstance(document, dict):
        raise GatewayUnavailable(f"Midtrans status API answered HTTP {http_status}")
    if code is not None and code.startswith("5"):
        raise GatewayUnavailable(f"Midtrans status API answered status_code {code}")
    return document
