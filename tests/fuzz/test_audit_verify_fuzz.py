"""Fuzz: the verifier never crashes on a corrupted bundle; it exits 1 (or 2), naming a check.

Any change to a leaf file's bytes must fail: the leaves are canonical and hashed exactly.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.audit import bundle as b
from settlement.audit.cli import main
from tests.unit.audit import builder

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("audit") / "2025-04"
    builder.build(directory, "2025-04", builder.keys(2), threshold=2)
    return directory


def verify_copy(pristine: Path, file: str, content: bytes) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "bundle"
        shutil.copytree(pristine, copy)
        (copy / file).write_bytes(content)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(["verify", str(copy), "--trust-bundle-officers"])
        return code, out.getvalue()


def mutate(data: bytes, position: int, insert: bytes, cut: int) -> bytes:
    position = position % (len(data) + 1)
    return data[:position] + insert + data[position + cut :]


@settings(max_examples=150)
@given(st.sampled_from(b.FILES), st.integers(0, 10**6), st.binary(max_size=8), st.integers(0, 8))
def test_byte_level_corruption_exits_cleanly(
    pristine: Path, file: str, position: int, insert: bytes, cut: int
) -> None:
    original = (pristine / file).read_bytes()
    content = mutate(original, position, insert, cut)
    code, out = verify_copy(pristine, file, content)
    assert code in (0, 1)
    if code == 1:
        assert out.startswith("FAIL ")
    if file in (b.TRANSFERS, b.BALANCES, b.GOVERNANCE) and content != original:
        assert code == 1


@settings(max_examples=150)
@given(st.sampled_from([b.TRANSFERS, b.BALANCES]), st.data(), json_values)
def test_field_level_corruption_of_leaves_fails(
    pristine: Path, file: str, data: st.DataObject, value: object
) -> None:
    lines = (pristine / file).read_bytes().splitlines()
    number = data.draw(st.integers(0, len(lines) - 1))
    leaf = json.loads(lines[number])
    field = data.draw(st.sampled_from(sorted(leaf)))
    leaf[field] = value
    lines[number] = json.dumps(leaf, sort_keys=True, separators=(",", ":")).encode()
    content = b"".join(line + b"\n" for line in lines)
    code, _ = verify_copy(pristine, file, content)
    assert code == (0 if content == (pristine / file).read_bytes() else 1)


@settings(max_examples=100)
@given(st.sampled_from([b.MANIFEST, b.SIGNATURES, b.ANCHORS]), json_values)
def test_arbitrary_json_documents_exit_cleanly(pristine: Path, file: str, value: object) -> None:
    content = json.dumps(value).encode()
    code, out = verify_copy(pristine, file, content)
    assert code in (0, 1)
    assert code == 0 or out.startswith("FAIL ")
