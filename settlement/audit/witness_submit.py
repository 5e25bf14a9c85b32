"""The outbox handler that submits a month's checkpoint to one witness and stores the
cosignature it returns (``tlog.witness`` messages, enqueued with the checkpoint).

Idempotent: a cosignature already stored ends the message; a witness that has cosigned a
larger size than we thought answers 409 with its size, and the request is sent once more from
there. Network failures and 5xx are retried by the outbox; a refusal (403, 404, 422, 400) means
the witness will never cosign this checkpoint and the message is parked for a person, with the
witness's reason: it may be evidence of a split view.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import Connection, text

from settlement.audit import cumulative
from settlement.audit.note import NoteError, parse_note, parse_vkey
from settlement.audit.witness import SIZE_CONTENT_TYPE, encode_request, read_cosignature
from settlement.outbox import OutboxMessage, PermanentFailure

ADD_CHECKPOINT = "/add-checkpoint"
reply_bytes_max = 16384
Post = Callable[[str, bytes], httpx.Response]


class WitnessSubmitter:
    """Handles ``tlog.witness``: POST add-checkpoint, check and store the cosignature."""

    def __init__(self, post: Post) -> None:
        self._post = post

    def __call__(self, conn: Connection, message: OutboxMessage) -> None:
        """Submit, following one 409 to the witness's size; store the cosignature."""
        period, vkey, url = (message.payload[k] for k in ("period", "witness", "url"))
        checkpoint = cumulative.stored(conn, period)
        if checkpoint is None:
            raise PermanentFailure(f"no checkpoint for {period}")
        witness = parse_vkey(vkey)
        if _stored(conn, period, witness.vkey()):
            return
        old = _last_cosigned_size(conn, witness.vkey(), checkpoint.size)
        for _ in range(2):
            reply = self._post(url.rstrip("/") + ADD_CHECKPOINT, _body(conn, old, checkpoint))
            if reply.status_code == 409 and reply.headers.get("content-type") == SIZE_CONTENT_TYPE:
                theirs = _size(conn, reply.text, checkpoint.size)
                if theirs is None:
                    return  # it already cosigned a later checkpoint of ours: nothing to add
                old = theirs
                continue
            break
        if reply.status_code >= 500:
            raise RuntimeError(f"witness {witness.name} answered {reply.status_code}")
        if reply.status_code != 200:
            raise PermanentFailure(
                f"witness {witness.name} refused {period}'s checkpoint (size {checkpoint.size}):"
                f" {reply.status_code} {reply.text[:500]}"
            )
        text_ = parse_note(checkpoint.note.encode("utf-8")).text
        try:
            line, cosignature = read_cosignature(reply.content[:reply_bytes_max], text_, witness)
        except NoteError as bad:
            raise PermanentFailure(f"witness {witness.name}: {bad}") from None
        conn.execute(
            text(
                "INSERT INTO tlog_cosignatures (period, witness, line, timestamp_s)"
                " VALUES (:p, :w, :l, :t) ON CONFLICT DO NOTHING"
            ),
            {"p": period, "w": witness.vkey(), "l": line, "t": cosignature.timestamp},
        )


def _body(conn: Connection, old: int, checkpoint: cumulative.StoredCheckpoint) -> bytes:
    proof = (
        [] if old in (0, checkpoint.size) else cumulative.consistency(conn, old, checkpoint.size)
    )
    return encode_request(old, proof, checkpoint.note.encode("utf-8"))


def _stored(conn: Connection, period: str, witness: str) -> bool:
    return (
        conn.execute(
            text("SELECT 1 FROM tlog_cosignatures WHERE period = :p AND witness = :w"),
            {"p": period, "w": witness},
        ).first()
        is not None
    )


def _last_cosigned_size(conn: Connection, witness: str, size: int) -> int:
    """The largest size this witness cosigned, no larger than ``size`` (0 if none)."""
    value = conn.execute(
        text(
            "SELECT max(c.size) FROM tlog_cosignatures s JOIN tlog_checkpoints c"
            " ON c.period = s.period WHERE s.witness = :w AND c.size <= :n"
        ),
        {"w": witness, "n": size},
    ).scalar_one_or_none()
    return 0 if value is None else int(value)


def _size(conn: Connection, body: str, size: int) -> int | None:
    """The witness's size from a 409 body; None when it is a later checkpoint of ours. A size
    this log never signed means someone showed the witness another tree."""
    text_ = body.strip()
    if not text_.isdigit():
        raise PermanentFailure(f"a 409 without a size: {body[:100]!r}")
    theirs = int(text_)
    if theirs <= size:
        return theirs
    signed = conn.execute(
        text("SELECT 1 FROM tlog_checkpoints WHERE size = :n"), {"n": theirs}
    ).first()
    if signed is None:
        raise PermanentFailure(
            f"the witness has cosigned size {theirs}, which this log never signed: split view?"
        )
    return None


def http_post(timeout_s: float) -> Post:
    """POST with httpx (the production ``Post``)."""

    def post(url: str, body: bytes) -> httpx.Response:
        return httpx.post(url, content=body, timeout=timeout_s)

    return post
