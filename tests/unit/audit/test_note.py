"""Signed notes, checkpoints and cosignatures: the C2SP spec's own example, round trips, and
every changed byte refused with a reason."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.audit import merkle
from settlement.audit.checkpoint import (
    Checkpoint,
    check_cosignature,
    cosign,
    count_cosignatures,
    parse_checkpoint,
)
from settlement.audit.note import (
    COSIGNATURE_V1,
    Note,
    NoteError,
    NoteKey,
    generate_signer,
    parse_note,
    parse_signer,
    parse_vkey,
    sign_note,
    verify_note,
)

# c2sp.org/signed-note, section "Verifier keys", example.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3"
    "mFXmRKuwHjG1Yu72IneyaQM=\n"
).encode()
ORIGIN = "madiun.go.id/msc/transfers"


def test_the_spec_example_note_verifies_and_a_changed_text_does_not() -> None:
    key = parse_vkey(SPEC_VKEY)
    assert key.vkey() == SPEC_VKEY
    note = parse_note(SPEC_NOTE)
    verify_note(note, key)
    assert note.encode() == SPEC_NOTE
    changed = parse_note(SPEC_NOTE.replace(b"example message", b"example massage"))
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(changed, key)


def test_a_vkey_with_another_id_is_refused() -> None:
    with pytest.raises(NoteError, match="not the hash of its key"):
        parse_vkey(SPEC_VKEY.replace("530d903a", "530d903b"))


def test_signer_keys_round_trip_and_sign_checkpoints() -> None:
    signer = generate_signer(ORIGIN)
    again = parse_signer(signer.encode())
    assert again.verifier == signer.verifier
    checkpoint = Checkpoint(ORIGIN, 8, merkle.root([b"x"] * 8))
    note = sign_note(checkpoint.text(), again)
    parsed = parse_note(note.encode())
    verify_note(parsed, signer.verifier)
    assert parse_checkpoint(parsed.text) == checkpoint


def test_a_note_by_an_unknown_key_is_refused() -> None:
    note = sign_note(Checkpoint(ORIGIN, 0, merkle.EMPTY_ROOT).text(), generate_signer(ORIGIN))
    with pytest.raises(NoteError, match="no signature by"):
        verify_note(note, generate_signer(ORIGIN).verifier)


@given(st.integers(0, 400), st.data())
def test_any_changed_byte_of_a_signed_checkpoint_is_refused(at: int, data: st.DataObject) -> None:
    signer = generate_signer(ORIGIN)
    encoded = sign_note(
        Checkpoint(ORIGIN, 5, hashlib.sha256(b"r").digest()).text(), signer
    ).encode()
    index = at % len(encoded)
    flip = data.draw(st.integers(1, 255))
    tampered = encoded[:index] + bytes([encoded[index] ^ flip]) + encoded[index + 1 :]
    with pytest.raises(NoteError):
        _read_signed(tampered, signer.verifier)


def _read_signed(data: bytes, key: NoteKey) -> Checkpoint:
    note = parse_note(data)
    verify_note(note, key)
    return parse_checkpoint(note.text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (f"{ORIGIN}\n007\n{'A' * 43}=\n", "leading zeros"),
        (f"{ORIGIN}\n7\nAAAA\n", "not 32"),
        (f"{ORIGIN}\n7\n{'A' * 43}=\next\n", "exactly"),
        (f"{ORIGIN}\n0\n{'A' * 43}=\n", "empty tree"),
        (f"two words\n7\n{'A' * 43}=\n", "spaces"),
    ],
)
def test_malformed_checkpoints_are_refused(text: str, why: str) -> None:
    with pytest.raises(NoteError, match=why):
        parse_checkpoint(text)


def test_cosignatures_count_only_trusted_witnesses_over_this_checkpoint() -> None:
    log = generate_signer(ORIGIN)
    one, two = (generate_signer(f"witness.example/w{i}", COSIGNATURE_V1) for i in (1, 2))
    stranger = generate_signer("witness.example/w1", COSIGNATURE_V1)
    text = Checkpoint(ORIGIN, 3, merkle.root([b"a", b"b", b"c"])).text()
    signed = sign_note(text, log)
    lines = (cosign(text, one, 1_700_000_000), cosign(text, stranger, 1_700_000_001))
    note = Note(text, signed.signatures + lines)
    found = count_cosignatures(parse_note(note.encode()), (one.verifier, two.verifier))
    assert [(c.witness, c.timestamp) for c in found] == [(one.verifier, 1_700_000_000)]
    other = Checkpoint(ORIGIN, 4, merkle.root([b"a", b"b", b"c", b"d"])).text()
    with pytest.raises(NoteError, match="not over this checkpoint"):
        check_cosignature(other, lines[0], one.verifier)
    moved = Note(other, (lines[0],))
    with pytest.raises(NoteError, match="not over this checkpoint"):
        count_cosignatures(moved, (one.verifier,))
