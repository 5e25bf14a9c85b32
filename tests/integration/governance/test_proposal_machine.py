"""A state machine over proposals on PostgreSQL: officers and a stranger sign honestly or over
other bytes, time passes, anyone executes; a proposal executes exactly when a model says so
(next nonce, not expired, not executed, at least M valid distinct officer signatures), and
each refusal carries the model's code."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from nacl.signing import SigningKey
from sqlalchemy import Connection, Engine, text

from escrow.clock import FixedClock
from settlement.audit.proposal import Proposal, sign
from settlement.governance import treasury
from settlement.governance.errors import GovernanceRefused
from settlement.unit_of_work import UnitOfWork, bind
from tests.conftest import rolled_back

pytestmark = pytest.mark.integration
DEPLOYMENT = "madiun-machine"
KEYS = [SigningKey(bytes([0x40 + i]) * 32) for i in range(3)]
STRANGER = SigningKey(bytes([0x4F]) * 32)
THRESHOLD = 2
us_per_s = 1_000_000
start_us = 1_900_000_000 * us_per_s


@dataclass
class Model:
    """What the machine expects of one proposal."""

    proposal: Proposal
    signers: set[int] = field(default_factory=set)
    executed: bool = False


def machine(engine: Engine) -> type[RuleBasedStateMachine]:
    class ProposalMachine(RuleBasedStateMachine):
        proposals = Bundle("proposals")

        def __init__(self) -> None:
            super().__init__()
            self.held: AbstractContextManager[Connection] = rolled_back(engine)
            self.conn = self.held.__enter__()
            self.clock = FixedClock(start_us)
            self.uow: UnitOfWork = bind(self.conn, self.clock)
            named = tuple((f"o{i}", bytes(k.verify_key).hex()) for i, k in enumerate(KEYS))
            treasury.register_officers(self.uow, named, THRESHOLD)
            self.models: dict[str, Model] = {}
            self.next_nonce = 0

        def teardown(self) -> None:
            self.held.__exit__(None, None, None)

        def _expected(self, model: Model) -> str | None:
            if model.executed:
                return "governance_proposal_replayed"
            if model.proposal.nonce < self.next_nonce:
                return "governance_nonce_used"
            if self.clock.now_us() > model.proposal.expires_at_us:
                return "governance_proposal_expired"
            return None

        def _outcome(self, work: object) -> str:
            try:
                work()  # type: ignore[operator]
            except GovernanceRefused as refused:
                return refused.code
            return "ok"

        @rule(target=proposals, lasts_s=st.sampled_from([900, 7200]), value=st.integers(0, 1000))
        def propose(self, lasts_s: int, value: int) -> str:
            params = {"name": "quote_spread_bp", "value": value}
            expires = self.clock.now_us() + lasts_s * us_per_s
            proposal = treasury.propose(self.uow, DEPLOYMENT, "parameter.set", params, expires)
            assert proposal.nonce == self.next_nonce
            self.models.setdefault(proposal.id(), Model(proposal))
            return proposal.id()

        @rule(pid=proposals, signer=st.integers(0, 3), honest=st.booleans())
        def add_signature(self, pid: str, signer: int, honest: bool) -> None:
            model = self.models[pid]
            key = STRANGER if signer == len(KEYS) else KEYS[signer]
            body = model.proposal
            signed = body if honest else Proposal(body.action, "elsewhere", body.nonce,
                                                  body.expires_at_us, body.params)  # fmt: skip
            expected = self._expected(model) or (
                "governance_signer_unknown" if key is STRANGER
                else "governance_signature_invalid" if not honest
                else "governance_signature_duplicate" if signer in model.signers
                else "ok"
            )  # fmt: skip
            got = self._outcome(
                lambda: treasury.add_signature(self.uow, DEPLOYMENT, pid, sign(signed, key))
            )
            assert got == expected
            if got == "ok":
                model.signers.add(signer)

        @rule(pid=proposals)
        def execute(self, pid: str) -> None:
            model = self.models[pid]
            expected = self._expected(model) or (
                "governance_signatures_insufficient" if len(model.signers) < THRESHOLD else "ok"
            )
            got = self._outcome(lambda: treasury.execute(self.uow, DEPLOYMENT, pid))
            assert got == expected
            if got == "ok":
                model.executed = True
                self.next_nonce += 1

        @rule(seconds=st.sampled_from([60, 1200, 3600]))
        def wait(self, seconds: int) -> None:
            self.clock.advance(seconds)

        @invariant()
        def executions_are_the_models(self) -> None:
            count = self.conn.execute(
                text("SELECT count(*) FROM governance_log WHERE kind = 'proposal.executed'")
            ).scalar_one()
            assert count == sum(m.executed for m in self.models.values()) == self.next_nonce

    return ProposalMachine


def test_proposals_execute_exactly_when_the_model_says(module_engine: Engine) -> None:
    machine_class = machine(module_engine)
    machine_class.TestCase.settings = settings(
        max_examples=25, stateful_step_count=20, deadline=None
    )
    machine_class.TestCase().runTest()
