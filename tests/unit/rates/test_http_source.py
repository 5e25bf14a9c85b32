"""The HTTP JSON source against a crafted upstream: a real HTTP server on 127.0.0.1 serving
good prices, floats as JSON numbers, bad JSON, huge bodies, missing fields, slow and trickling
answers. Every failure is a ``RateUnavailable`` with its reason; every price is exact."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain.rates.http import (
    HttpJsonSource,
    HttpSourceLimits,
    HttpSourceSpec,
    decode_json,
    price_units,
)
from chain.rates.ports import RateUnavailable
from escrow.clock import FixedClock

NOW_US = 1_764_547_200_000_000  # 2025-12-01T00:00:00Z
LIMITS = HttpSourceLimits(
    connect_timeout_s=1.0, read_timeout_s=0.3, total_timeout_s=0.8, response_bytes_max=4096
)
Reply = Callable[[BaseHTTPRequestHandler], None]


def _json(body: str, status: int = 200) -> Reply:
    def send(handler: BaseHTTPRequestHandler) -> None:
        data = body.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return send


def _undeclared_huge(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)  # no Content-Length: the body ends when the server closes
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()
    handler.wfile.write(b'{"price": "1", "pad": "' + b"x" * 20_000 + b'"}')


def _slow(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(1.0)  # past the read timeout before a byte is sent
    _json('{"price": "5000"}')(handler)


def _trickle(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()
    for _ in range(12):  # each byte within the read timeout, the whole past the total one
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.1)
    handler.wfile.write(b'{"price": "5000"}')


ROUTES: dict[str, Reply] = {
    "/text": _json('{"data": {"price": "5000.25"}}'),
    "/number": _json('{"data": {"price": 5000.25}}'),
    "/integer": _json('{"data": {"price": 5000}}'),
    "/exponent": _json('{"data": {"price": 5.00025e3}}'),
    "/list": _json('{"data": [{"price": "4999.99"}]}'),
    "/inverse": _json('{"rate": "0.0002"}'),
    "/inverse-repeating": _json('{"rate": 0.0003}'),
    "/too-precise": _json('{"data": {"price": "5000.259"}}'),
    "/observed": _json('{"p": "5000", "at": "2025-11-30T23:59:00+00:00"}'),
    "/observed-epoch": _json('{"p": "5000", "at": 1764547140.5}'),
    "/observed-naive": _json('{"p": "5000", "at": "2025-11-30T23:59:00"}'),
    "/bad-json": _json('{"data": {"price": "5000"'),
    "/nan": _json('{"data": {"price": NaN}}'),
    "/missing": _json('{"data": {}}'),
    "/bool": _json('{"data": {"price": true}}'),
    "/zero": _json('{"data": {"price": "0"}}'),
    "/negative": _json('{"data": {"price": -5}}'),
    "/huge-number": _json('{"data": {"price": 1e400}}'),
    "/text-junk": _json('{"data": {"price": "5,000"}}'),
    "/huge": _json('{"pad": "' + "x" * 20_000 + '"}'),
    "/huge-undeclared": _undeclared_huge,
    "/slow": _slow,
    "/trickle": _trickle,
    "/error": _json('{"error": "down"}', 503),
    "/deep": _json("[" * 2000 + "]" * 2000),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ROUTES[self.path](self)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _source(url: str, field: str = "data.price", **spec: object) -> HttpJsonSource:
    return HttpJsonSource(
        HttpSourceSpec("crafted", url, field, **spec),  # type: ignore[arg-type]
        httpx.Client(),
        FixedClock(NOW_US),
        LIMITS,
    )


@pytest.mark.parametrize(
    ("path", "field", "inverse", "units"),
    [
        ("/text", "data.price", False, 500_025),
        ("/number", "data.price", False, 500_025),
        ("/integer", "data.price", False, 500_000),
        ("/exponent", "data.price", False, 500_025),
        ("/list", "data.0.price", False, 499_999),
        ("/inverse", "rate", True, 500_000),
        ("/inverse-repeating", "rate", True, 333_333),  # 333,333.33... sen, rounded down
        ("/too-precise", "data.price", False, 500_025),  # 500,025.9 sen, rounded down
    ],
)
def test_prices_are_exact_sen_per_pi_rounded_down(
    upstream: str, path: str, field: str, inverse: bool, units: int
) -> None:
    seen = _source(upstream + path, field, inverse=inverse).price("PI", "IDR")
    assert (seen.price_units, seen.observed_at_us, seen.source) == (units, NOW_US, "crafted")


@pytest.mark.parametrize("path", ["/observed", "/observed-epoch"])
def test_the_observed_time_is_read_when_the_source_gives_it(upstream: str, path: str) -> None:
    seen = _source(upstream + path, "p", observed_field="at").price("PI", "IDR")
    expected = NOW_US - 60_000_000 + (500_000 if path.endswith("epoch") else 0)
    assert seen.observed_at_us == expected


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/bad-json", "source_bad_json"),
        ("/nan", "source_bad_json"),
        ("/missing", "source_field_missing"),
        ("/bool", "source_value_invalid"),
        ("/zero", "source_value_invalid"),
        ("/negative", "source_value_invalid"),
        ("/huge-number", "source_value_invalid"),
        ("/text-junk", "source_value_invalid"),
        ("/huge", "source_too_large"),
        ("/huge-undeclared", "source_too_large"),
        ("/slow", "source_timeout"),
        ("/trickle", "source_timeout"),
        ("/error", "source_status"),
    ],
)
def test_a_bad_answer_is_no_price_with_its_reason(upstream: str, path: str, reason: str) -> None:
    with pytest.raises(RateUnavailable) as failed:
        _source(upstream + path).price("PI", "IDR")
    assert failed.value.reason == reason


def test_deeply_nested_json_is_no_price_and_no_crash(upstream: str) -> None:
    with pytest.raises(RateUnavailable) as failed:  # RecursionError, or parsed without a price
        _source(upstream + "/deep").price("PI", "IDR")
    assert failed.value.reason in {"source_bad_json", "source_field_missing"}


def test_a_naive_observed_time_is_refused(upstream: str) -> None:
    with pytest.raises(RateUnavailable) as failed:
        _source(upstream + "/observed-naive", "p", observed_field="at").price("PI", "IDR")
    assert failed.value.reason == "source_value_invalid"


def test_nobody_listening_is_unreachable() -> None:
    with pytest.raises(RateUnavailable) as failed:
        _source("http://127.0.0.1:9/price").price("PI", "IDR")
    assert failed.value.reason == "source_unreachable"


def test_another_pair_is_not_asked(upstream: str) -> None:
    with pytest.raises(RateUnavailable) as failed:
        _source(upstream + "/text").price("PI", "MSC")
    assert failed.value.reason == "source_pair_unknown"


prices = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal("1e9"), places=8, allow_nan=False
)


@given(prices)
def test_a_price_as_text_or_number_is_read_exactly(value: Decimal) -> None:
    as_text = price_units(str(value), 2, inverse=False) if value * 100 >= 1 else None
    number = decode_json(json.dumps({"p": float(value)}).encode())
    assert isinstance(number, dict)
    if as_text is not None:
        assert as_text == int(Fraction(value) * 100)  # floor of the exact value
        assert price_units(number["p"], 2, inverse=False) == int(Fraction(str(number["p"])) * 100)
    if Fraction(100) / Fraction(value) >= 1:
        assert price_units(str(value), 2, inverse=True) == int(Fraction(100) / Fraction(value))
