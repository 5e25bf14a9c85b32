"""``msc-audit witness serve``: a small HTTP witness (standard library and PyNaCl only).

``POST /add-checkpoint`` as c2sp.org/tlog-witness specifies; ``GET /`` says which logs it
follows and its verifier key, so a log operator can check the address before configuring it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from settlement.audit.note import NoteError, NoteKey, parse_signer, parse_vkey
from settlement.audit.witness import FileState, Reply, Witness, request_bytes_max

ADD_CHECKPOINT = "/add-checkpoint"


def build_witness(key_file: Path, logs: Sequence[str], state_file: Path) -> Witness:
    """A witness from its signer key file, the logs' verifier keys (each log's origin is its
    key's name) and its state file."""
    signer = parse_signer(key_file.read_text(encoding="ascii"))
    keys: dict[str, NoteKey] = {}
    for text in logs:
        key = parse_vkey(text)
        if key.name in keys:
            raise NoteError(f"two keys for log {key.name}")
        keys[key.name] = key
    return Witness(signer, keys, FileState(state_file), lambda: int(time.time()))


def make_server(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """The HTTP server answering for ``witness`` (call ``serve_forever``)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "msc-audit-witness/1"

        def do_POST(self) -> None:
            if self.path != ADD_CHECKPOINT:
                self._send(Reply(404, b"only POST /add-checkpoint\n"))
                return
            length = int(self.headers.get("Content-Length") or "0")
            if not 0 < length <= request_bytes_max:
                self._send(Reply(400, b"a body of 1 to 65536 bytes is needed\n"))
                return
            self._send(witness.add_checkpoint(self.rfile.read(length)))

        def do_GET(self) -> None:
            about = f"witness {witness.signer.verifier.vkey()}\n"
            self._send(Reply(200, about.encode("utf-8")))

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return ThreadingHTTPServer((host, port), Handler)
