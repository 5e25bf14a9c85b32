"""Fixtures for the Pi rail's unit tests: recorded JSON and in-memory transports."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from chain.pi.horizon import HorizonClient
from chain.pi.platform import PiPlatformClient
from chain.pi.transport import HttpLimits, JsonTransport

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pi"

Handler = Callable[[httpx.Request], httpx.Response]


def load(name: str) -> object:
    """A recorded/documented JSON fixture, floats as Decimal (as the client decodes them)."""
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


def raw(name: str) -> bytes:
    """A fixture's bytes, served verbatim."""
    return (FIXTURES / name).read_bytes()


class Recorder:
    """Counts the requests a MockTransport handler saw."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def make_transport(handler: Handler, **limits: float) -> tuple[JsonTransport, Recorder]:
    """A JsonTransport over httpx.MockTransport that never sleeps."""
    recorder = Recorder(handler)
    client = httpx.Client(transport=httpx.MockTransport(recorder))
    lim = HttpLimits(**limits)  # type: ignore[arg-type]
    return JsonTransport(client, lim, sleep=lambda _s: None), recorder


@pytest.fixture
def platform_for() -> Callable[..., tuple[PiPlatformClient, Recorder]]:
    def build(handler: Handler, **limits: float) -> tuple[PiPlatformClient, Recorder]:
        transport, rec = make_transport(handler, **limits)
        return PiPlatformClient(transport, "https://api.minepi.test", "server-key"), rec

    return build


@pytest.fixture
def horizon_for() -> Callable[..., tuple[HorizonClient, Recorder]]:
    def build(handler: Handler, **limits: float) -> tuple[HorizonClient, Recorder]:
        transport, rec = make_transport(handler, **limits)
        return HorizonClient(transport, "https://horizon.pi.test"), rec

    return build
