"""The database's own consistency check (tlog_consistent, PL/pgSQL) agrees with the Python
verifier on random trees, proofs and tampered proofs: the guard that keeps the service from
signing two inconsistent checkpoints is the same algorithm, not a weaker one."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from settlement.audit import merkle
from settlement.audit.consistency import (
    CompactRange,
    ConsistencyError,
    consistency_proof,
    verify_consistency,
)

pytestmark = pytest.mark.integration
CHECK = text("SELECT tlog_consistent(:m, :n, :r1, :r2, :p)")
FOLD = text("SELECT tlog_fold(:peaks)")


def _python_says(m: int, n: int, r1: bytes, r2: bytes, proof: list[bytes]) -> bool:
    try:
        verify_consistency(m, n, r1, r2, proof)
    except ConsistencyError:
        return False
    return True


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))), st.data())
def test_sql_and_python_agree(
    db_conn: Connection, pair: tuple[int, int], data: st.DataObject
) -> None:
    m, n = pair
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    proof = consistency_proof(m, n, lambda a, b: merkle.root_of_hashes(hashes[a:b]))
    r1, r2 = merkle.root_of_hashes(hashes[:m]), merkle.root_of_hashes(hashes)
    cases = [(m, n, r1, r2, proof)]
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        cases.append((m, n, r1, r2, [*proof[:at], merkle.leaf_hash(b"x"), *proof[at + 1 :]]))
        cases.append((m, n, r1, r2, proof[:-1]))
    cases.append((m, n, merkle.leaf_hash(b"other"), r2, proof))
    other = data.draw(st.integers(1, n))
    cases.append((other, n, r1, r2, proof))
    for case in cases:
        m1, n1, a, b, p = case
        sql_says = db_conn.execute(CHECK, {"m": m1, "n": n1, "r1": a, "r2": b, "p": b"".join(p)})
        assert sql_says.scalar_one() is _python_says(*case), case[:2]
    tree = CompactRange()
    for leaf in hashes:
        tree.append(leaf)
    folded = db_conn.execute(FOLD, {"peaks": b"".join(tree.peaks)}).scalar_one()
    assert bytes(folded) == r2
