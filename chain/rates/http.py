"""A price source that reads one JSON document over HTTP: a URL, the field holding the price,
and whether that price is the quote per base (IDR per Pi) or its inverse (Pi per IDR).

Every number stays exact: the body is decoded with ``parse_float=Decimal`` (a JSON number
``5000.5`` is ``Decimal('5000.5')``, never a binary float), a price given as text must be plain
decimal text, and ``escrow.prices`` turns the price into integer smallest units of the quote
asset per one whole base unit rounded down (decision 0022). Every read is bounded: connect,
read and total timeouts and a response size limit, each named with its unit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import httpx

from chain.rates.ports import (
    SOURCE_BAD_JSON,
    SOURCE_FIELD_MISSING,
    SOURCE_PAIR_UNKNOWN,
    SOURCE_STATUS,
    SOURCE_TIMEOUT,
    SOURCE_TOO_LARGE,
    SOURCE_UNREACHABLE,
    SOURCE_VALUE_INVALID,
    PriceObservation,
    RateUnavailable,
)
from escrow import prices
from escrow.calendar import to_us
from escrow.clock import Clock
from escrow.money import asset


@dataclass(frozen=True, slots=True)
class HttpSourceSpec:
    """One configured source: ``field`` is a dotted path into the JSON (``data.price``, a
    number selects a list item: ``data.0.price``); ``observed_field`` (optional) holds when
    the source observed the price (ISO 8601 with offset, or epoch seconds); without it the
    price counts as observed when it was fetched."""

    name: str
    url: str
    field: str
    inverse: bool = False
    observed_field: str | None = None
    base: str = "PI"
    quote: str = "IDR"


@dataclass(frozen=True, slots=True)
class HttpSourceLimits:
    """The bounds of one read, with units."""

    connect_timeout_s: float = 2.0
    read_timeout_s: float = 3.0
    """Longest wait for any one chunk of the answer."""
    total_timeout_s: float = 5.0
    """Longest the whole answer may take (a source trickling bytes is cut off)."""
    response_bytes_max: int = 65_536


class HttpJsonSource:
    """A ``RateSource`` over ``client`` (tests give a local server or an ASGI transport)."""

    def __init__(
        self,
        spec: HttpSourceSpec,
        client: httpx.Client,
        clock: Clock,
        limits: HttpSourceLimits | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._spec = spec
        self._client = client
        self._clock = clock
        self._limits = limits or HttpSourceLimits()
        self._monotonic = monotonic

    @property
    def name(self) -> str:
        """The configured name."""
        return self._spec.name

    def price(self, base: str, quote: str) -> PriceObservation:
        """Fetch the document and read the price; ``RateUnavailable`` with a reason if not."""
        spec = self._spec
        if (base, quote) != (spec.base, spec.quote):
            raise RateUnavailable(
                f"{spec.name} prices {spec.base}/{spec.quote} only", SOURCE_PAIR_UNKNOWN
            )
        content = self._fetch()
        document = decode_json(content)
        fetched_us = self._clock.now_us()
        units = price_units(pick(document, spec.field), asset(quote).scale, inverse=spec.inverse)
        observed_us = fetched_us
        if spec.observed_field is not None:
            observed_us = observed_at_us(pick(document, spec.observed_field))
        return PriceObservation(base, quote, units, observed_us, spec.name)

    def _fetch(self) -> bytes:
        limits, url = self._limits, self._spec.url
        timeout = httpx.Timeout(limits.read_timeout_s, connect=limits.connect_timeout_s)
        deadline = self._monotonic() + limits.total_timeout_s
        try:
            with self._client.stream(
                "GET", url, headers={"Accept": "application/json"}, timeout=timeout
            ) as response:
                if response.status_code != httpx.codes.OK:
                    raise RateUnavailable(f"{url} answered {response.status_code}", SOURCE_STATUS)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limits.response_bytes_max:
                    raise RateUnavailable(f"{url} sends {declared} bytes", SOURCE_TOO_LARGE)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limits.response_bytes_max:
                        raise RateUnavailable(
                            f"{url} sent over {limits.response_bytes_max} bytes", SOURCE_TOO_LARGE
                        )
                    if self._monotonic() > deadline:
                        raise RateUnavailable(
                            f"{url} took over {limits.total_timeout_s} s", SOURCE_TIMEOUT
                        )
                    chunks.append(chunk)
        except httpx.TimeoutException as slow:
            raise RateUnavailable(f"{url}: {type(slow).__name__}", SOURCE_TIMEOUT) from None
        except httpx.HTTPError as failed:
            raise RateUnavailable(f"{url}: {type(failed).__name__}", SOURCE_UNREACHABLE) from None
        return b"".join(chunks)


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a price")


def decode_json(content: bytes) -> object:
    """The JSON document, numbers exact (``Decimal``/``int``); NaN and Infinity refused."""
    try:
        return json.loads(content, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RateUnavailable("the answer is not JSON", SOURCE_BAD_JSON) from None


def pick(document: object, path: str) -> object:
    """The value at dotted ``path``; ``RateUnavailable(source_field_missing)`` if absent."""
    node = document
    for segment in path.split("."):
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            raise RateUnavailable(f"no {path!r} in the answer", SOURCE_FIELD_MISSING)
    return node


def price_units(value: object, scale: int, *, inverse: bool) -> int:
    """Sen (``scale`` decimals) per whole Pi, rounded down (``escrow.prices.price_units``)."""
    try:
        return prices.price_units(value, scale, inverse=inverse)
    except prices.PriceInvalid as invalid:
        raise RateUnavailable(str(invalid), SOURCE_VALUE_INVALID) from None


def observed_at_us(value: object) -> int:
    """Microseconds since the epoch of an ISO 8601 time with offset, or of epoch seconds."""
    if isinstance(value, str) and len(value) <= prices.PRICE_CHARS_MAX:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is None:
            raise RateUnavailable(f"{value!r} has no offset", SOURCE_VALUE_INVALID)
        if moment is not None:
            return to_us(moment)
    try:
        return prices.epoch_seconds_us(value)
    except prices.PriceInvalid:
        raise RateUnavailable(f"not a time: {str(value)[:64]!r}", SOURCE_VALUE_INVALID) from None
