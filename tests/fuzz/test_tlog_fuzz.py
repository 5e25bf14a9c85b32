"""Fuzz: the log's parsers of outside input (notes, checkpoints, vkeys, witness requests, the
manifest's cumulative section) refuse with their own error, never crash; a witness answers
every body with a status the spec names."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.audit import merkle
from settlement.audit.bundle import BundleError
from settlement.audit.checkpoint import Checkpoint, parse_checkpoint
from settlement.audit.log_verify import read_section
from settlement.audit.note import (
    COSIGNATURE_V1,
    NoteError,
    generate_signer,
    parse_note,
    parse_signer,
    parse_vkey,
    sign_note,
)
from settlement.audit.witness import FileState, Witness, encode_request

ORIGIN = "madiun.go.id/msc/transfers"
LOG = generate_signer(ORIGIN)
NOTE = sign_note(Checkpoint(ORIGIN, 3, merkle.root([b"a", b"b", b"c"])).text(), LOG).encode()
SPEC_STATUSES = {200, 400, 403, 404, 409, 422}


def _mutations() -> st.SearchStrategy[bytes]:
    return st.tuples(st.integers(0, len(NOTE) - 1), st.binary(max_size=6), st.integers(0, 6)).map(
        lambda t: NOTE[: t[0]] + t[1] + NOTE[t[0] + t[2] :]
    )


@given(st.binary(max_size=400) | _mutations())
def test_notes_and_checkpoints(data: bytes) -> None:
    try:
        note = parse_note(data)
        parse_checkpoint(note.text)
    except NoteError:
        pass


public_key_bytes = 32


@given(st.text(max_size=120))
def test_keys(text: str) -> None:
    """A key that parses names itself and holds a 32-byte Ed25519 key; else ``NoteError``."""
    with contextlib.suppress(NoteError):
        key = parse_vkey(text)
        assert key.name
        assert len(key.public) == public_key_bytes
    with contextlib.suppress(NoteError):
        signer = parse_signer(text)
        assert signer.name


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | _mutations().map(lambda note: encode_request(0, [], note)))
def test_a_witness_answers_every_body_with_a_spec_status(body: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        witness = Witness(
            generate_signer("witness.example/w", COSIGNATURE_V1),
            {ORIGIN: LOG.verifier},
            FileState(Path(scratch) / "state.json"),
            lambda: 1_764_000_000,
        )
        assert witness.add_checkpoint(body).status in SPEC_STATUSES


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=14), inner, max_size=9)
    ),
    max_leaves=12,
)


@given(json_values.filter(lambda value: value is not None))
def test_cumulative_sections(value: object) -> None:
    with pytest.raises(BundleError):
        read_section({"cumulative": value})
