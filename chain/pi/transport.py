"""Bounded JSON-over-HTTP: explicit timeouts, capped retries on 5xx/timeouts, size limits.

Shared by the Platform API client and the Horizon client. Only this module does network I/O for
the Pi rail; it is given an `httpx.Client`, so tests inject `httpx.MockTransport`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import httpx

from chain.pi.errors import PiResponseError, PiTransientError


@dataclass(frozen=True)
class HttpLimits:
    """Every limit of one remote, with units."""

    connect_timeout_s: float = 5.0
    read_timeout_s: float = 15.0
    attempts_max: int = 3
    backoff_base_s: float = 0.25
    backoff_cap_s: float = 2.0
    response_bytes_max: int = 1_048_576

    def timeout(self) -> httpx.Timeout:
        """The httpx timeout for one attempt."""
        return httpx.Timeout(self.read_timeout_s, connect=self.connect_timeout_s)


@dataclass(frozen=True)
class JsonReply:
    """A non-5xx answer: status and decoded JSON body (None if the body was not JSON)."""

    status: int
    body: object
    snippet: str


def _decode(content: bytes) -> object:
    """Decode JSON with floats as Decimal, so amounts never pass through binary floats."""
    try:
        return json.loads(content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None


class JsonTransport:
    """Send a request, retrying 5xx and timeouts with capped exponential backoff."""

    def __init__(
        self,
        client: httpx.Client,
        limits: HttpLimits,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._limits = limits
        self._sleep = sleep

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json_body: object = None,
        form: Mapping[str, str] | None = None,
    ) -> JsonReply:
        """Return the first non-5xx reply; raise PiTransientError when attempts run out."""
        last = "no attempt made"
        for attempt in range(self._limits.attempts_max):
            if attempt:
                delay = self._limits.backoff_base_s * (2 ** (attempt - 1))
                self._sleep(min(delay, self._limits.backoff_cap_s))
            try:
                reply = self._once(method, url, headers, json_body, form)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if reply.status >= 500:
                last = f"HTTP {reply.status}: {reply.snippet}"
                continue
            return reply
        attempts = self._limits.attempts_max
        raise PiTransientError(f"{method} {url} failed after {attempts} attempts ({last})")

    def _once(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        json_body: object,
        form: Mapping[str, str] | None,
    ) -> JsonReply:
        kwargs: dict[str, object] = {}
        if json_body is not None:
            kwargs["content"] = json.dumps(json_body, default=str).encode()
            headers = {**headers, "Content-Type": "application/json"}
        elif form is not None:
            kwargs["data"] = dict(form)
        with self._client.stream(
            method,
            url,
            headers={"Accept": "application/json", **headers},
            timeout=self._limits.timeout(),
            **kwargs,  # type: ignore[arg-type]
        ) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self._limits.response_bytes_max:
                raise PiResponseError(f"response of {declared} bytes exceeds the limit")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self._limits.response_bytes_max:
                    raise PiResponseError("response exceeds the size limit")
                chunks.append(chunk)
        content = b"".join(chunks)
        return JsonReply(
            status=response.status_code,
            body=_decode(content),
            snippet=content[:200].decode("utf-8", "replace"),
        )
