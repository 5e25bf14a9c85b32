"""The witness's side of c2sp.org/tlog-witness: every status the spec names, and a log that
shows two views caught by the witness that saw one of them."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.audit import merkle
from settlement.audit.checkpoint import Checkpoint
from settlement.audit.consistency import consistency_proof
from settlement.audit.note import COSIGNATURE_V1, NoteError, NoteSigner, generate_signer, sign_note
from settlement.audit.witness import (
    SIZE_CONTENT_TYPE,
    FileState,
    Witness,
    encode_request,
    parse_request,
    read_cosignature,
)

ORIGIN = "madiun.go.id/msc/transfers"
NOW_S = 1_764_000_000


def _leaves(n: int, tag: bytes = b"") -> list[bytes]:
    return [merkle.leaf_hash(tag + i.to_bytes(4, "big")) for i in range(n)]


def _subtree(hashes: list[bytes]):  # type: ignore[no-untyped-def]
    return lambda start, end: merkle.root_of_hashes(hashes[start:end])


class Log:
    """A log in memory that can sign whatever tree it likes (a dishonest one, too)."""

    def __init__(self, origin: str = ORIGIN) -> None:
        self.origin = origin
        self.signer = generate_signer(origin)

    def note(self, hashes: list[bytes]) -> tuple[str, bytes]:
        text = Checkpoint(self.origin, len(hashes), merkle.root_of_hashes(hashes)).text()
        return text, sign_note(text, self.signer).encode()

    def request(self, old: list[bytes], new: list[bytes]) -> tuple[str, bytes]:
        text, note = self.note(new)
        proof = consistency_proof(len(old), len(new), _subtree(new)) if old else []
        return text, encode_request(len(old), proof, note)


def _witness(log: Log, tmp_path: Path) -> tuple[Witness, NoteSigner]:
    signer = generate_signer("witness.example/w1", COSIGNATURE_V1)
    logs = {ORIGIN: log.signer.verifier}
    return Witness(signer, logs, FileState(tmp_path / "state.json"), lambda: NOW_S), signer


def test_it_cosigns_a_growing_log_and_remembers_the_size(tmp_path: Path) -> None:
    log = Log()
    witness, signer = _witness(log, tmp_path)
    first, second = _leaves(5), _leaves(12)
    text, body = log.request([], first)
    reply = witness.add_checkpoint(body)
    assert reply.status == 200, reply.body
    _, cosigned = read_cosignature(reply.body, text, signer.verifier)
    assert cosigned.timestamp == NOW_S
    text, body = log.request(first, second)
    reply = witness.add_checkpoint(body)
    assert reply.status == 200, reply.body
    read_cosignature(reply.body, text, signer.verifier)
    assert FileState(tmp_path / "state.json").get(ORIGIN) == (12, merkle.root_of_hashes(second))
    stale = witness.add_checkpoint(log.request(first, _leaves(20))[1])
    assert (stale.status, stale.body, stale.content_type) == (409, b"12\n", SIZE_CONTENT_TYPE)


def test_a_smaller_forked_or_unproven_tree_is_refused_saying_why(tmp_path: Path) -> None:
    log = Log()
    witness, _ = _witness(log, tmp_path)
    seen = _leaves(8)
    assert witness.add_checkpoint(log.request([], seen)[1]).status == 200
    _, note = log.note(_leaves(6))
    smaller = witness.add_checkpoint(encode_request(8, [], note))
    assert smaller.status == 400
    assert b"old size 8 is larger than the checkpoint's 6" in smaller.body
    forked = _leaves(8, b"fork") + _leaves(4)
    _, note = log.note(forked)
    proof = consistency_proof(8, 12, _subtree(forked))
    split = witness.add_checkpoint(encode_request(8, proof, note))
    assert split.status == 422
    assert b"not consistent with the cosigned size 8" in split.body
    same_size = witness.add_checkpoint(encode_request(8, [], log.note(_leaves(8, b"x"))[1]))
    assert (same_size.status, b"roots of size 8 differ" in same_size.body) == (422, True)
    _, note = log.note(_leaves(9))
    assert witness.add_checkpoint(encode_request(0, [], note)).status == 409


def test_unknown_logs_and_bad_signatures_are_refused(tmp_path: Path) -> None:
    log = Log()
    witness, _ = _witness(log, tmp_path)
    stranger = Log("example.com/other")
    assert witness.add_checkpoint(stranger.request([], _leaves(2))[1]).status == 404
    impostor = Log()
    reply = witness.add_checkpoint(impostor.request([], _leaves(2))[1])
    assert (reply.status, b"no signature by" in reply.body) == (403, True)
    _text, note = log.note(_leaves(3))
    forged = note.replace(b"\n3\n", b"\n4\n")
    assert witness.add_checkpoint(encode_request(0, [], forged)).status in (400, 403)
    assert witness.add_checkpoint(b"old 0\nnot a checkpoint").status == 400


def test_a_split_view_is_detected_by_the_witness_that_saw_the_other(tmp_path: Path) -> None:
    """The log shows Alice one history and Bob another of the same size; both go to the same
    witness (as the log must, to get cosignatures): the second is refused."""
    log = Log()
    witness, signer = _witness(log, tmp_path)
    alice, bob = _leaves(10, b"alice"), _leaves(10, b"bob")
    text, body = log.request([], alice)
    assert witness.add_checkpoint(body).status == 200
    reply = witness.add_checkpoint(encode_request(10, [], log.note(bob)[1]))
    assert reply.status == 422
    # And a cosignature for Alice's view never verifies over Bob's checkpoint.
    good = witness.add_checkpoint(encode_request(10, [], log.note(alice)[1]))
    line, _ = read_cosignature(good.body, text, signer.verifier)
    with pytest.raises(NoteError, match="not over this checkpoint"):
        read_cosignature(line.encode(), log.note(bob)[0], signer.verifier)


@given(st.binary(max_size=300))
def test_request_parsing_never_fails_unexpectedly(body: bytes) -> None:
    with contextlib.suppress(NoteError):
        parse_request(body)


def test_requests_round_trip() -> None:
    proof = [merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")]
    parsed = parse_request(encode_request(7, proof, "note\n\n\u2014 x y\n".encode()))
    assert (parsed.old_size, list(parsed.proof)) == (7, proof)
    with pytest.raises(NoteError, match="'old'"):
        parse_request(b"old 07\n\nx")
