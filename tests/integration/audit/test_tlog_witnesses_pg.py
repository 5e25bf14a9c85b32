"""Checkpoints go to witnesses through the outbox: cosignatures stored once and published in
checkpoint.txt, a stale size followed after 409, a witness that saw another tree refusing (the
message parked with its reason, nothing stored), and the verifier counting trusted witnesses."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey
from sqlalchemy import Connection, text

from escrow.clock import FixedClock
from settlement.audit import cumulative
from settlement.audit.checkpoint import CHECKPOINT_FILE
from settlement.audit.cli import main
from settlement.audit.cumulative import WITNESS_KIND, LogConfig
from settlement.audit.note import COSIGNATURE_V1, NoteSigner, generate_signer
from settlement.audit.signing import Officers
from settlement.audit.witness import FileState, Witness
from settlement.audit.witness_server import make_server
from settlement.audit.witness_submit import WitnessSubmitter, http_post
from settlement.outbox import OutboxMessage, PermanentFailure
from tests.integration.audit.test_tlog_pg import ORIGIN, export_months, keys, officers  # noqa: F401

pytestmark = pytest.mark.integration
NOW_S = 1_764_000_000


class Running:
    def __init__(self, tmp_path: Path, log_signer: NoteSigner, name: str) -> None:
        self.signer = generate_signer(f"witness.example/{name}", COSIGNATURE_V1)
        self.state = FileState(tmp_path / f"{name}.json")
        witness = Witness(self.signer, {ORIGIN: log_signer.verifier}, self.state, lambda: NOW_S)
        self.server = make_server(witness, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def vkey(self) -> str:
        return self.signer.verifier.vkey()


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[tuple[NoteSigner, list[Running]]]:
    log_signer = generate_signer(ORIGIN)
    running = [Running(tmp_path, log_signer, name) for name in ("w1", "w2")]
    yield log_signer, running
    for item in running:
        item.server.shutdown()
        item.server.server_close()


def _messages(conn: Connection, period: str) -> list[OutboxMessage]:
    rows = conn.execute(
        text("SELECT id, kind, key, payload, attempts FROM outbox WHERE kind = :k AND key LIKE :p"),
        {"k": WITNESS_KIND, "p": f"{period}:%"},
    ).all()
    return [OutboxMessage(r.id, r.kind, r.key, r.payload, r.attempts) for r in rows]


def test_cosignatures_through_the_outbox_and_the_verifier(
    module_conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],  # noqa: F811
    officers: Officers,  # noqa: F811
    witnesses: tuple[NoteSigner, list[Running]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log_signer, (one, two) = witnesses
    log = LogConfig(ORIGIN, log_signer, ((one.vkey, one.url), (two.vkey, two.url)))
    first, second = export_months(module_conn, clock, keys, officers, log, tmp_path)
    submit = WitnessSubmitter(http_post(5.0))
    for message in _messages(module_conn, first):
        submit(module_conn, message)
    # w2 lost nothing but we "forget" nothing either: pretend it cosigned size 7 elsewhere
    # (its state says 7, our table has its cosignature): second month goes from 7 with a proof.
    for message in _messages(module_conn, second):
        submit(module_conn, message)
        submit(module_conn, message)  # again: idempotent, nothing added
    count = module_conn.execute(text("SELECT count(*) FROM tlog_cosignatures")).scalar_one()
    assert count == 4
    assert one.state.get(ORIGIN) is not None
    assert one.state.get(ORIGIN)[0] == 14  # type: ignore[index]

    note = cumulative.checkpoint_note(module_conn, second)
    assert note is not None
    (tmp_path / second / CHECKPOINT_FILE).write_text(note)
    pinned = [
        "--officers",
        str(tmp_path / "officers.json"),
        "--log-key",
        log_signer.verifier.vkey(),
    ]
    code = main(
        [
            "verify",
            str(tmp_path / second),
            *pinned,
            "--witness",
            one.vkey,
            "--witness",
            two.vkey,
            "--min-witnesses",
            "2",
        ]
    )
    report = capsys.readouterr().out
    assert code == 0, report
    assert "ok witnesses: 2 of 2 trusted cosigned" in report


def test_a_stale_size_is_followed_and_a_forked_witness_refuses(
    module_conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],  # noqa: F811
    officers: Officers,  # noqa: F811
    witnesses: tuple[NoteSigner, list[Running]],
    tmp_path: Path,
) -> None:
    log_signer, (one, two) = witnesses
    log = LogConfig(ORIGIN, log_signer, ((one.vkey, one.url), (two.vkey, two.url)))
    first, second = export_months(module_conn, clock, keys, officers, log, tmp_path)
    stored = cumulative.stored(module_conn, first)
    assert stored is not None
    one.state.put(ORIGIN, stored.size, stored.root)  # it saw month one, we lost its answer
    two.state.put(ORIGIN, stored.size, bytes(32))  # it was shown another tree of size 7
    submit = WitnessSubmitter(http_post(5.0))
    by_witness = {m.payload["witness"]: m for m in _messages(module_conn, second)}
    submit(module_conn, by_witness[one.vkey])
    with pytest.raises(PermanentFailure, match="422 not consistent with the cosigned size 7"):
        submit(module_conn, by_witness[two.vkey])
    rows = module_conn.execute(text("SELECT witness FROM tlog_cosignatures")).scalars().all()
    assert rows == [one.vkey]
    line = module_conn.execute(text("SELECT line FROM tlog_cosignatures")).scalar_one()
    raw = base64.b64decode(line.split(" ")[2])
    assert int.from_bytes(raw[4:12], "big") == NOW_S
    assert json.loads(json.dumps(by_witness[one.vkey].payload))["period"] == second


class Crash(Exception):
    pass


def test_a_crash_after_the_witness_answered_is_resumed(
    module_conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],  # noqa: F811
    officers: Officers,  # noqa: F811
    witnesses: tuple[NoteSigner, list[Running]],
    tmp_path: Path,
) -> None:
    """The witness recorded the new size and answered, then the handler died before storing
    the cosignature: the retry's stale old size gets 409, and the same-size resubmission is
    cosigned again; exactly one cosignature is stored."""
    log_signer, (one, _) = witnesses
    log = LogConfig(ORIGIN, log_signer, ((one.vkey, one.url),))
    first, second = export_months(module_conn, clock, keys, officers, log, tmp_path)
    real = http_post(5.0)
    submit = WitnessSubmitter(real)
    for message in _messages(module_conn, first):
        submit(module_conn, message)

    def crashing(url: str, body: bytes) -> httpx.Response:
        real(url, body)
        raise Crash

    (message,) = _messages(module_conn, second)
    with pytest.raises(Crash), module_conn.begin_nested():
        WitnessSubmitter(crashing)(module_conn, message)
    assert one.state.get(ORIGIN) == (14, cumulative.stored(module_conn, second).root)  # type: ignore[union-attr]
    sent: list[bytes] = []

    def recording(url: str, body: bytes) -> httpx.Response:
        sent.append(body)
        return real(url, body)

    WitnessSubmitter(recording)(module_conn, message)
    assert [body.split(b"\n", 1)[0] for body in sent] == [b"old 7", b"old 14"]
    count = module_conn.execute(
        text("SELECT count(*) FROM tlog_cosignatures WHERE period = :p"), {"p": second}
    ).scalar_one()
    assert count == 1
