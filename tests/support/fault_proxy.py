"""A TCP proxy in front of a server, for fault tests: it forwards bytes both ways until told to
drop every connection and refuse new ones (what a client sees while its server restarts), or
to answer the next connections itself the way a broken HTTP upstream does (``answer``): a JSON
503, an HTML error page from a gateway, a hang that ends in a dropped connection, or the real
answer, slowly."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

chunk_bytes = 65_536
start_timeout_s = 5.0
head_bytes_max = 65_536
MODES = ("status_503", "html", "hang", "slow")
_RESPONSES = {
    "status_503": (b"503 Service Unavailable", b"application/json", b'{"error":"unavailable"}'),
    "html": (
        b"502 Bad Gateway",
        b"text/html",
        b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    ),
}


@dataclass
class Answer:
    """The next ``times`` connections are answered by ``mode``; ``delay_s`` is how long a hang
    lasts or how late a slow answer comes."""

    mode: str
    times: int
    delay_s: float = 0.0


class FaultProxy:
    """Listens on a loopback port of its own and forwards to ``upstream``."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._down = False
        self._answers: list[Answer] = []
        self.answered: list[str] = []
        self.port = 0

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until ``restore``."""
        asyncio.run_coroutine_threadsafe(self._cut(), self._loop).result(start_timeout_s)

    def answer(self, mode: str, times: int = 1, delay_s: float = 0.0) -> None:
        """Answer the next ``times`` connections by ``mode`` (after those armed before), then
        forward again. Open connections are dropped first, so a pooled client meets it."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}, not one of {MODES}")
        self._answers.append(Answer(mode, times, delay_s))
        asyncio.run_coroutine_threadsafe(self._drop(), self._loop).result(start_timeout_s)

    def restore(self) -> None:
        """Accept and forward connections again."""
        self._down = False

    async def _cut(self) -> None:
        self._down = True
        await self._drop()

    async def _drop(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(self._cut())
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            writer.transport.abort()
            return
        answer = self._take()
        if answer is not None:
            self.answered.append(answer.mode)
            if answer.mode != "slow":
                await self._answer(answer, reader, writer)
                return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        late_s = answer.delay_s if answer is not None else 0.0
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer, late_s))

    def _take(self) -> Answer | None:
        if not self._answers:
            return None
        answer = self._answers[0]
        answer.times -= 1
        if answer.times <= 0:
            self._answers.pop(0)
        return answer

    async def _answer(
        self, answer: Answer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Read one request, then answer it as ``answer`` says and close the connection."""
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(line.split(b":", 1)[1]) for line in head.lower().split(b"\r\n")
                 if line.startswith(b"content-length:")),
                0,
            )  # fmt: skip
            if length:
                await reader.readexactly(min(length, head_bytes_max))
            if answer.mode == "hang":
                await asyncio.sleep(answer.delay_s)
            else:
                status, media, body = _RESPONSES[answer.mode]
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Type: " + media
                    + b"\r\nContent-Length: " + str(len(body)).encode()
                    + b"\r\nConnection: close\r\n\r\n" + body
                )  # fmt: skip
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            if answer.mode == "hang":
                writer.transport.abort()  # what a gateway's idle timeout does
            else:
                writer.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, late_s: float = 0.0
    ) -> None:
        try:
            while data := await reader.read(chunk_bytes):
                if late_s:
                    await asyncio.sleep(late_s)
                    late_s = 0.0
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    @contextmanager
    def running(self) -> Iterator[FaultProxy]:
        """Serve in a thread of its own while the block runs."""
        ready = threading.Event()
        thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        thread.start()
        if not ready.wait(start_timeout_s):
            raise RuntimeError("the fault proxy did not start")
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(start_timeout_s)
