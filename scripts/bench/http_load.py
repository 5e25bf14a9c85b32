"""A lean HTTP/1.1 load client for the benches: keep-alive connections over asyncio streams.

On a 2-core machine the load generator shares the cores with the server it measures; httpx's
AsyncClient spends about 6 ms of CPU per request (as much as the server), so the server's figures
would be the client's. This client sends prebuilt request bytes over a pool of keep-alive
connections and reads each answer by its Content-Length: well under a millisecond a request.
It speaks only what the benches send (a request with a body, an answer with Content-Length).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

__all__ = ["Answer", "KeepAliveClient"]

head_bytes_max = 64 * 1024
"""Status line and headers of an answer, at most."""
idle_s_max = 3.0
"""An idle connection older than this is closed, not reused: the server closes its side after
its keep-alive timeout (uvicorn's is 5 s), and a request sent as it does would be lost."""
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer's status code and body."""

    status_code: int
    body: bytes


class KeepAliveClient:
    """At most ``connections_max`` keep-alive connections to ``host:port``; a request waits for a
    free one (first come, first served) or opens a new one while fewer are open."""

    def __init__(self, host: str, port: int, connections_max: int) -> None:
        self._host = host
        self._port = port
        self._idle: list[tuple[float, Connection]] = []
        self._slots = asyncio.Semaphore(connections_max)
        self.opened = 0

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        """POST ``body`` to ``path``; raises ``ConnectionError`` on a broken connection."""
        return await self.request("POST", path, body, headers)

    async def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        """``method`` ``path`` with ``body``; raises ``ConnectionError`` on a broken connection."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        async with self._slots:
            reader, writer = await self._connection()
            try:
                writer.write(request)
                answer, keep = await _read_answer(reader)
            except BaseException as broken:  # a timeout's cancellation too: never reused
                writer.close()
                if isinstance(broken, (OSError, EOFError, asyncio.LimitOverrunError, ValueError)):
                    raise ConnectionError(f"the connection broke: {broken!r}") from broken
                raise
            if keep:
                self._idle.append((time.monotonic(), (reader, writer)))
            else:
                writer.close()
            return answer

    async def close(self) -> None:
        """Close every idle connection."""
        for _, (_, writer) in self._idle:
            writer.close()
        self._idle.clear()

    async def _connection(self) -> Connection:
        """The most recently used idle connection young enough to reuse, else a new one."""
        while self._idle:
            idle_since, connection = self._idle.pop()
            if time.monotonic() - idle_since < idle_s_max:
                return connection
            connection[1].close()
        self.opened += 1
        return await asyncio.open_connection(self._host, self._port)


async def _read_answer(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    """One answer, and whether its connection may carry the next request."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > head_bytes_max:
        raise ValueError("answer head too long")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status_code = int(status_line.split(" ", 2)[1])
    fields = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        if name:
            fields[name.strip().lower()] = value.strip()
    length = int(fields.get("content-length", "0"))
    body = await reader.readexactly(length)
    keep = fields.get("connection", "").lower() != "close"
    return Answer(status_code, body), keep
