"""``msc serve``'s listening socket: the connections it accepts send without Nagle's delay.

asyncio (so uvicorn) sets TCP_NODELAY only on accepted sockets whose protocol says TCP; a socket
made as ``socket(AF_INET, SOCK_STREAM)`` says 0, and then every answer of more than one segment
waited about 40 ms for the client's delayed ACK (found by ``scripts/bench/api``).
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from settlement.cli.serve import _listening_socket

pytestmark = pytest.mark.integration
connect_timeout_s = 5.0


async def _accepted_nodelay(listening: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_connect(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=listening)
    async with server:
        _, writer = await asyncio.open_connection(*listening.getsockname())
        try:
            return await asyncio.wait_for(accepted, connect_timeout_s)
        finally:
            writer.close()


def test_the_accepted_connections_send_without_delay() -> None:
    with _listening_socket("127.0.0.1", 0) as listening:
        assert listening.proto == socket.IPPROTO_TCP
        assert asyncio.run(_accepted_nodelay(listening)) != 0
