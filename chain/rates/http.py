"""A price source that reads one JSON document over HTTP: a URL, the field holding the price,
and whether that price is the quote per base (IDR per Pi) or its inverse (Pi per IDR).

Every number stays exact: the body is decoded with ``parse_float=Decimal`` (a JSON number
``5000.5`` is ``Decimal('5000.5')``, never a binary float), a price given as text must be plain
decimal text, and the price is turned into integer smallest units of the quote asset per one
whole base unit rounded down (``ROUND_FLOOR``, decision 0022). Every read is bounded: connect,
read and total timeouts and a response size limit, each named with its unit.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import (
    ROUND_FLOOR,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

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
from escrow.calendar import to_us
from escrow.clock import Clock
from escrow.money import UNITS_MAX, asset

price_chars_max = 64
"""Longest price text read at all."""
decimal_digits_max = 80
"""Precision of the arithmetic turning a price into units: wider than any accepted text."""
_DECIMAL_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,3})?")
US_PER_S = 1_000_000


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


def _exact(value: object) -> Decimal:
    """A JSON number or decimal text as an exact ``Decimal``."""
    if isinstance(value, bool):
        raise RateUnavailable("a boolean is not a price", SOURCE_VALUE_INVALID)
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str) and len(value) <= price_chars_max and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    raise RateUnavailable(
        f"not a decimal price: {str(value)[:price_chars_max]!r}", SOURCE_VALUE_INVALID
    )


def price_units(value: object, scale: int, *, inverse: bool) -> int:
    """Smallest units of the quote asset (``scale`` decimals) per whole base unit, rounded down:
    ``value * 10**scale``, or ``10**scale / value`` when the source quotes the inverse."""
    number = _exact(value)
    with localcontext() as ctx:
        ctx.prec = decimal_digits_max
        ctx.traps[InvalidOperation] = ctx.traps[DivisionByZero] = ctx.traps[Overflow] = True
        try:
            if not number.is_finite() or number <= 0:
                raise RateUnavailable(
                    f"a price must be positive, not {number}", SOURCE_VALUE_INVALID
                )
            exact = Decimal(10) ** scale / number if inverse else number.scaleb(scale)
            units = int(exact.to_integral_value(rounding=ROUND_FLOOR))
        except (InvalidOperation, DivisionByZero, Overflow):
            raise RateUnavailable(f"{number} is out of range", SOURCE_VALUE_INVALID) from None
    if not 1 <= units <= UNITS_MAX:
        raise RateUnavailable(f"{number} is out of range", SOURCE_VALUE_INVALID)
    return units


def observed_at_us(value: object) -> int:
    """Microseconds since the epoch of an ISO 8601 time with offset, or of epoch seconds."""
    if isinstance(value, str) and len(value) <= price_chars_max:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise RateUnavailable(
                f"not an ISO 8601 time: {value!r}", SOURCE_VALUE_INVALID
            ) from None
        if moment.tzinfo is None:
            raise RateUnavailable(f"{value!r} has no offset", SOURCE_VALUE_INVALID)
        return to_us(moment)
    seconds = _exact(value)
    with localcontext() as ctx:
        ctx.prec = decimal_digits_max
        return int((seconds * US_PER_S).to_integral_value(rounding=ROUND_FLOOR))
