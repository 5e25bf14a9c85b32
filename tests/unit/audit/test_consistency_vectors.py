"""The consistency and inclusion checks against transparency-dev/merkle's published vectors.

Every file under tests/fixtures/transparency-dev-merkle/{consistency,inclusion} is one case; the
negative ones (modified, truncated or padded proofs, wrong sizes, wrong roots) must be refused.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from settlement.audit import merkle
from settlement.audit.consistency import ConsistencyError, verify_consistency

VECTORS = Path(__file__).parents[2] / "fixtures" / "transparency-dev-merkle"


def _cases(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [pytest.param(json.loads(f.read_text()), id=str(f.relative_to(VECTORS))) for f in files]


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_the_vectors_are_all_there() -> None:
    assert len(_cases("consistency")) == 98
    assert len(_cases("inclusion")) == 98
    wanted = [c.values[0]["wantErr"] for c in _cases("consistency")]
    assert wanted.count(False) >= 6
    assert wanted.count(True) >= 80


@pytest.mark.parametrize("case", _cases("consistency"))
def test_consistency_vector(case: dict[str, Any]) -> None:
    proof = [_b64(p) for p in case["proof"] or []]
    check = lambda: verify_consistency(  # noqa: E731 - one call, two outcomes
        case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof
    )
    if case["wantErr"]:
        with pytest.raises(ConsistencyError):
            check()
    else:
        check()


@pytest.mark.parametrize("case", _cases("inclusion"))
def test_inclusion_vector(case: dict[str, Any]) -> None:
    proof = [_b64(p) for p in case["proof"] or []]
    ok = merkle.verify_inclusion(
        case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), proof, _b64(case["root"])
    )
    assert ok is not case["wantErr"], case["desc"]
