"""A TCP proxy in front of a server, for fault tests: it forwards bytes both ways until told to
drop every connection and refuse new ones (what a client sees while its server restarts)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

chunk_bytes = 65_536
start_timeout_s = 5.0


class FaultProxy:
    """Listens on a loopback port of its own and forwards to ``upstream``."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._down = False
        self.port = 0

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until ``restore``."""
        asyncio.run_coroutine_threadsafe(self._cut(), self._loop).result(start_timeout_s)

    def restore(self) -> None:
        """Accept and forward connections again."""
        self._down = False

    async def _cut(self) -> None:
        self._down = True
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
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(chunk_bytes):
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
