"""Pi to MSC conversions carried out whole under the load bench, one request per slot.

A conversion is four requests to the service, in order: the Pioneer's firm quote
(``POST /v1/quotes``), the conversion at it (``POST /v1/conversions``), and its Pi payment's
approval and completion callbacks (``POST /v1/pi/payments/{id}/approve`` and ``/complete``).
Before each callback the Pioneer's app (the Pi sandbox) makes, then signs and submits, the
payment; those calls are the phone's, not the service's, and are not timed. Pi lets a Pioneer
have one incomplete payment at a time, so a conversion holds its Pioneer from quote to
completion.

``Conversions.send`` is given a slot: it sends the next request of a conversion whose last
request was answered, or starts a new one with a free Pioneer. A request is timed from its slot
(or from the moment the app's call before it returned, if later). A conversion that failed may
leave its Pioneer an incomplete payment at Pi, so that Pioneer is retired and the sandbox makes
a fresh one in its place.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from http_load import Answer, KeepAliveClient  # scripts/bench/http_load.py

__all__ = ["Conversions", "Pioneer", "Record"]

SELL_PI = "1.0000000"
pioneer_balance_pi = "100000"
JSON = {"Content-Type": "application/json"}
steps = ("quote", "convert", "approve", "complete")

Record = Callable[[str, float, Answer | None, int, str | None], None]
"""How a request is tallied: (kind, timed from, the answer or None, the status expected, and
without an answer ``"<cause>: <detail>"``)."""


@dataclass(frozen=True, slots=True)
class Pioneer:
    """A Pioneer of the sandbox: its uid and its Pi access token."""

    uid: str
    token: str


@dataclass(slots=True)
class _Flow:
    """One conversion in flight: whose, how far, what the service and the app answered."""

    pioneer: Pioneer
    step: int = 0
    quote_id: str = ""
    conversion: dict[str, object] = field(default_factory=dict)
    payment_id: str = ""


class Conversions:
    """Conversions in flight on ``service`` with the app's side on ``sandbox`` (module doc)."""

    def __init__(
        self, service: KeepAliveClient, sandbox: KeepAliveClient, pioneers: list[Pioneer]
    ) -> None:
        self._service = service
        self._sandbox = sandbox
        self._free = deque(pioneers)
        self._ready: deque[_Flow] = deque()
        self.done = 0
        self.failed = 0

    async def send(self, timeout_s: float, scheduled: float, record: Record) -> None:
        """The next request of a ready conversion (or of a new one) at slot ``scheduled``."""
        if self._ready:
            flow = self._ready.popleft()
        elif self._free:
            flow = _Flow(self._free.popleft())
        else:
            record("conversion", scheduled, None, 0, "no_free_pioneer: every Pioneer is busy")
            return
        kind = f"conversion:{steps[flow.step]}"
        try:
            async with asyncio.timeout(scheduled + timeout_s - time.perf_counter()):
                timed_from, answer, expected = await self._request(flow, scheduled)
        except TimeoutError:
            record(kind, scheduled, None, 0, f"timeout: no answer in {timeout_s:g} s")
            await self._retire(flow)
            return
        except (ConnectionError, ValueError, KeyError) as broken:
            record(kind, scheduled, None, 0, f"transport: {broken!r}")
            await self._retire(flow)
            return
        record(kind, timed_from, answer, expected, None)
        if answer.status_code != expected:
            await self._retire(flow)
            return
        self._advance(flow, json.loads(answer.body))

    async def _request(self, flow: _Flow, scheduled: float) -> tuple[float, Answer, int]:
        """The flow's next request: when its timing starts, the answer, the status expected."""
        bearer = {"Authorization": f"Bearer {flow.pioneer.token}"}
        keyed = bearer | {"Idempotency-Key": str(uuid.uuid4()), **JSON}
        if flow.step == 0:
            body = {"sell_asset": "PI", "buy_asset": "MSC", "sell_amount": SELL_PI}
            answer = await self._service.request("POST", "/v1/quotes", _json(body), keyed)
            return scheduled, answer, 201
        if flow.step == 1:
            body = {"quote_id": flow.quote_id}
            answer = await self._service.request("POST", "/v1/conversions", _json(body), keyed)
            return scheduled, answer, 201
        if flow.step == 2:
            flow.payment_id = await self._app_creates(flow)
            timed_from = max(scheduled, time.perf_counter())
            path = f"/v1/pi/payments/{flow.payment_id}/approve"
            return timed_from, await self._service.request("POST", path, b"", bearer), 200
        txid = await self._app_pays(flow.payment_id)
        timed_from = max(scheduled, time.perf_counter())
        path = f"/v1/pi/payments/{flow.payment_id}/complete"
        body = _json({"txid": txid})
        return timed_from, await self._service.request("POST", path, body, bearer | JSON), 200

    async def _app_creates(self, flow: _Flow) -> str:
        """The Pioneer's app creates the payment the conversion asked for; its identifier."""
        body = {
            "amount": flow.conversion["sell_amount"],
            "memo": "convert",
            "metadata": flow.conversion["metadata"],
        }
        path = f"/sandbox/pioneers/{flow.pioneer.uid}/payments"
        made = await self._sandbox.request("POST", path, _json(body), JSON)
        if made.status_code != 200:
            raise ValueError(f"the app could not create the payment: {made.body[:200]!r}")
        return str(json.loads(made.body)["identifier"])

    async def _app_pays(self, payment_id: str) -> str:
        """The Pioneer's app signs and submits the approved payment; its transaction id."""
        paid = await self._sandbox.request("POST", f"/sandbox/payments/{payment_id}/pay", b"", {})
        if paid.status_code != 200:
            raise ValueError(f"the app could not pay: {paid.body[:200]!r}")
        return str(json.loads(paid.body)["txid"])

    async def _retire(self, flow: _Flow) -> None:
        """Drop a failed conversion and put a fresh Pioneer in its Pioneer's place."""
        self.failed += 1
        body = {"username": f"bench-{uuid.uuid4().hex[:12]}", "balance": pioneer_balance_pi}
        try:
            made = await self._sandbox.request("POST", "/sandbox/pioneers", _json(body), JSON)
        except ConnectionError:
            return
        if made.status_code == 200:
            found = json.loads(made.body)
            self._free.append(Pioneer(found["uid"], found["access_token"]))

    def _advance(self, flow: _Flow, answer: dict[str, object]) -> None:
        if flow.step == 0:
            flow.quote_id = str(answer["id"])
        elif flow.step == 1:
            flow.conversion = answer
        flow.step += 1
        if flow.step < len(steps):
            self._ready.append(flow)
            return
        self.done += 1
        self._free.append(flow.pioneer)


def _json(body: dict[str, object]) -> bytes:
    return json.dumps(body).encode()
