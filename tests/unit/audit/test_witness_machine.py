"""A state machine against the witness: a log grows, sometimes lies (forks its history, shrinks,
replays an old size); the witness's remembered (size, root) always equals the last tree it was
proven, and it cosigns exactly the submissions a consistent log would make."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from settlement.audit import merkle
from settlement.audit.checkpoint import Checkpoint
from settlement.audit.consistency import consistency_proof
from settlement.audit.note import COSIGNATURE_V1, generate_signer, sign_note
from settlement.audit.witness import FileState, Witness, encode_request, read_cosignature

ORIGIN = "madiun.go.id/msc/transfers"
LOG = generate_signer(ORIGIN)
WITNESS = generate_signer("witness.example/w1", COSIGNATURE_V1)


def _root(hashes: list[bytes]) -> bytes:
    return merkle.root_of_hashes(hashes)


class WitnessMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        self.state = FileState(Path(self._dir.name) / "state.json")
        self.witness = Witness(WITNESS, {ORIGIN: LOG.verifier}, self.state, lambda: 1_764_000_000)
        self.history: list[bytes] = []
        self.cosigned = 0
        self.counter = 0

    def _leaves(self, count: int, tag: bytes) -> list[bytes]:
        self.counter += count
        return [merkle.leaf_hash(tag + (self.counter + i).to_bytes(8, "big")) for i in range(count)]

    def _submit(self, old: int, tree: list[bytes]) -> int:
        text = Checkpoint(ORIGIN, len(tree), _root(tree)).text()
        proof = []
        if 0 < old <= len(tree):
            proof = consistency_proof(old, len(tree), lambda a, b: _root(tree[a:b]))
        reply = self.witness.add_checkpoint(
            encode_request(old, proof, sign_note(text, LOG).encode())
        )
        if reply.status == 200:
            read_cosignature(reply.body, text, WITNESS.verifier)
        return reply.status

    @rule(count=st.integers(0, 40))
    def grow_honestly(self, count: int) -> None:
        tree = self.history + self._leaves(count, b"h")
        assert self._submit(self.cosigned, tree) == 200
        self.history, self.cosigned = tree, len(tree)

    @rule(count=st.integers(1, 40), at=st.integers(0, 1000))
    def fork(self, count: int, at: int) -> None:
        if not self.history:
            return
        forked = list(self.history) + self._leaves(count, b"g")
        forked[at % len(self.history)] = merkle.leaf_hash(b"fork" + at.to_bytes(4, "big"))
        assert self._submit(self.cosigned, forked) == 422

    @rule(drop=st.integers(1, 40))
    def shrink(self, drop: int) -> None:
        if len(self.history) < drop:
            return
        assert self._submit(self.cosigned, self.history[: len(self.history) - drop]) == 400

    @rule(old=st.integers(0, 400))
    def stale_old_size(self, old: int) -> None:
        tree = self.history + self._leaves(3, b"s")
        if old == self.cosigned or old > len(tree):
            return
        assert self._submit(old, tree) == 409

    @invariant()
    def remembers_the_last_proven_tree(self) -> None:
        known = self.state.get(ORIGIN)
        if self.history:
            assert known == (len(self.history), _root(self.history))

    def teardown(self) -> None:
        self._dir.cleanup()


WitnessMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=15, deadline=None)
TestWitnessMachine = WitnessMachine.TestCase
