"""The rates sandbox: a Pi price in Rupiah that the demo, tests and operators can set, served as
JSON over HTTP like any configured source, and able to misbehave on demand.

``GET /price`` answers ``{"data": {"price": "5000.00", "observed_at": "<ISO 8601>"}}``.
``POST /sandbox/price {"price": "5200.00"}`` sets the price; ``POST /sandbox/mode {"mode": M}``
makes every later answer ``fresh`` (the default), ``stale`` (observed a day ago), ``missing``
(no price field), ``wild`` (ten times the price) or ``down`` (HTTP 503). ``GET /sandbox`` shows
the state. The service mounts it under ``/rates-sandbox`` while a configured source points at
``http://rates-sandbox.internal`` (the embedded default); ``python -m chain.rates.sandbox``
serves it alone.

``SandboxRateSource`` is the same idea without HTTP: a fixed price observed now, for unit tests.
"""

from __future__ import annotations

import argparse
import json
import threading
from dataclasses import dataclass, field
from enum import StrEnum

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chain.rates.ports import PriceObservation, RateUnavailable
from escrow.calendar import US_PER_S, from_us
from escrow.clock import Clock, SystemClock
from escrow.money import IDR, AmountRefused, format_amount, parse_amount

stale_age_s = 24 * 3600
"""How old a ``stale`` answer's observation is."""
wild_factor = 10
"""How far off a ``wild`` answer is."""
admin_body_bytes_max = 4096
PRICE_FIELD = "data.price"
OBSERVED_FIELD = "data.observed_at"


class SandboxMode(StrEnum):
    """How the sandbox answers ``GET /price``."""

    FRESH = "fresh"
    STALE = "stale"
    MISSING = "missing"
    WILD = "wild"
    DOWN = "down"


@dataclass
class RateSandbox:
    """The sandbox's state: the price of 1 PI in sen and the mode, changed by its admin routes."""

    idr_units_per_pi: int
    clock: Clock = field(default_factory=SystemClock)
    mode: SandboxMode = SandboxMode.FRESH
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set_price(self, idr_units_per_pi: int) -> None:
        """Serve this price (sen per 1 PI) from now on."""
        if idr_units_per_pi <= 0:
            raise ValueError("a price is positive")
        with self._lock:
            self.idr_units_per_pi = idr_units_per_pi

    def set_mode(self, mode: SandboxMode) -> None:
        """Answer in ``mode`` from now on."""
        with self._lock:
            self.mode = mode

    def document(self) -> tuple[int, dict[str, object]]:
        """The HTTP status and JSON body ``GET /price`` answers now."""
        with self._lock:
            mode, units = self.mode, self.idr_units_per_pi
        if mode is SandboxMode.DOWN:
            return 503, {"error": "the sandbox is down on purpose"}
        observed_us = self.clock.now_us()
        if mode is SandboxMode.STALE:
            observed_us -= stale_age_s * US_PER_S
        if mode is SandboxMode.WILD:
            units *= wild_factor
        data: dict[str, object] = {"observed_at": from_us(observed_us).isoformat()}
        if mode is not SandboxMode.MISSING:
            data["price"] = format_amount(units, IDR.scale)
        return 200, {"pair": "PI/IDR", "data": data}

    def state(self) -> dict[str, str]:
        """The price and mode, for ``GET /sandbox``."""
        with self._lock:
            return {"price": format_amount(self.idr_units_per_pi, IDR.scale), "mode": self.mode}


def build_rates_sandbox_app(sandbox: RateSandbox) -> Starlette:
    """The ASGI app over ``sandbox``."""

    async def price(_: Request) -> Response:
        status, body = sandbox.document()
        return JSONResponse(body, status)

    async def state(_: Request) -> Response:
        return JSONResponse(sandbox.state())

    async def set_price(request: Request) -> Response:
        body = await _body(request)
        try:
            sandbox.set_price(parse_amount(str(body.get("price")), IDR.scale))
        except AmountRefused as refused:
            return JSONResponse({"error": refused.code, "detail": refused.detail}, 422)
        return JSONResponse(sandbox.state())

    async def set_mode(request: Request) -> Response:
        body = await _body(request)
        try:
            sandbox.set_mode(SandboxMode(str(body.get("mode"))))
        except ValueError:
            return JSONResponse({"error": "mode is one of " + ", ".join(SandboxMode)}, 422)
        return JSONResponse(sandbox.state())

    return Starlette(
        routes=[
            Route("/price", price, methods=["GET"]),
            Route("/sandbox", state, methods=["GET"]),
            Route("/sandbox/price", set_price, methods=["POST"]),
            Route("/sandbox/mode", set_mode, methods=["POST"]),
        ]
    )


async def _body(request: Request) -> dict[str, object]:
    raw = await request.body()
    if len(raw) > admin_body_bytes_max:
        return {}
    try:
        found = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


@dataclass(frozen=True, slots=True)
class SandboxRateSource:
    """Always the configured price of 1 PI in IDR, observed now on ``clock`` (no HTTP)."""

    idr_units_per_pi: int
    clock: Clock
    name: str = "sandbox"

    def price(self, base: str, quote: str) -> PriceObservation:
        """The configured Pi price in sen; only PI/IDR is known."""
        if (base, quote) != ("PI", "IDR"):
            raise RateUnavailable(f"the sandbox prices PI in IDR only, not {base}/{quote}")
        return PriceObservation(base, quote, self.idr_units_per_pi, self.clock.now_us(), self.name)


def main(argv: list[str] | None = None) -> None:
    """Serve the rates sandbox alone until interrupted."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m chain.rates.sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--price", default="5000.00", help="IDR per 1 PI, decimal text")
    args = parser.parse_args(argv)
    sandbox = RateSandbox(parse_amount(args.price, IDR.scale))
    uvicorn.run(build_rates_sandbox_app(sandbox), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
