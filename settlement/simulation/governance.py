"""Treasury proposals in the simulator: proposed, signed by M of N officers, executed once.

The checks are the governance use cases' own (``governance/treasury.py``: ``check_live``,
``check_executable``; ``audit/proposal.py``: the exact bytes signed and verified); the log is
``Db.proposals``, ``Db.signatures`` and ``Db.executed``. Every proposal sets the early-unlock
penalty of locks (``parameter.set``), so an execution changes what the next unlock keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nacl.signing import SigningKey

from settlement import parameters
from settlement.audit.proposal import Proposal, read_proposal, sign, verifies
from settlement.governance import actions
from settlement.governance.errors import GovernanceRefused
from settlement.governance.log import Officers
from settlement.governance.treasury import check_executable, check_live
from settlement.simulation.world import Db

if TYPE_CHECKING:
    from settlement.simulation.engine import Simulation

DEPLOYMENT = "sim"
ACTION = "parameter.set"
penalties_bp = (0, 100, 500, 2500)
proposal_ttl_s = (86_400, 30 * 86_400, 90 * 86_400)
"""Some proposals expire before they are signed or executed (a ``days`` step passes them)."""
officers_min, officers_max = 3, 5
threshold_min, threshold_max = 2, 3
open_max = 2
concurrent_share = 0.5
"""Executions asked for twice at once (two officers' terminals, a retrying script)."""
stray_share = 0.2
"""Signatures by a key that is no officer's, over another proposal's bytes, by an officer
who signed already, or for a proposal that can no longer execute; executions of a proposal
that is not signed enough, or was executed."""


@dataclass(frozen=True, slots=True)
class Board:
    """The officers in force (keys drawn from the seed) and one stranger."""

    keys: tuple[SigningKey, ...]
    officers: Officers
    stranger: SigningKey


def board(sim: Simulation) -> Board:
    """N officers from 3 to 5 and a threshold M from 2 to N, drawn from the seed."""
    n = sim.rng.randint(officers_min, officers_max)
    keys = tuple(SigningKey(sim.rng.randbytes(32)) for _ in range(n))
    named = tuple((f"officer-{i}", bytes(k.verify_key).hex()) for i, k in enumerate(keys))
    threshold = sim.rng.randint(threshold_min, threshold_max)
    return Board(keys, Officers(named, threshold), SigningKey(sim.rng.randbytes(32)))


def next_nonce(db: Db) -> int:
    """One more than the last executed nonce, 0 at first (``governance.log.next_nonce``)."""
    nonces = [db.proposals[pid].nonce for pid in db.executed]
    return max(nonces) + 1 if nonces else 0


def client_propose(sim: Simulation) -> None:
    """The treasury proposes a new early-unlock penalty at the next nonce (``propose``), unless
    two proposals are open already."""
    if len(_open(sim.db, sim.clock.now_us())) >= open_max:
        return
    key = sim.next_id("key-")
    value = sim.rng.choice(penalties_bp)
    ttl_s = sim.rng.choice(proposal_ttl_s)

    def body() -> None:
        if key in sim.db.responses:
            return
        now = sim.clock.now_us()
        expected = next_nonce(sim.db)
        params = {"name": parameters.LOCK_PENALTY_BP, "value": value}
        proposal = read_proposal({"action": ACTION, "deployment": DEPLOYMENT,
                                  "expires_at_us": now + ttl_s * 10**6, "nonce": expected,
                                  "params": params})  # fmt: skip
        actions.action(ACTION).check(proposal.params)
        check_live(proposal, DEPLOYMENT, False, expected, now)
        sim.db.proposals.setdefault(proposal.id(), proposal)
        sim.db.signatures.setdefault(proposal.id(), ())
        sim.db.responses[key] = proposal.id()

    sim.client("propose", key, key, body)


def _open(db: Db, now_us: int) -> list[str]:
    """The proposals that may still execute: not executed, their nonce not used, not expired."""
    nonce = next_nonce(db)
    return [
        pid
        for pid, p in sorted(db.proposals.items())
        if p.nonce >= nonce and now_us <= p.expires_at_us
    ]


def client_sign(sim: Simulation) -> None:
    """An officer who has not signed signs an open proposal (``add_signature``); now and then
    a stray one (see ``stray_share``)."""
    ids, open_ = sorted(sim.db.proposals), _open(sim.db, sim.clock.now_us())
    if not ids:
        return
    key = sim.next_id("key-")
    stray = not open_ or sim.rng.random() < stray_share
    proposal_id = sim.rng.choice(ids if stray else open_)
    proposal = sim.db.proposals[proposal_id]
    signed = {s.public_key for s in sim.db.signatures[proposal_id]}
    unsigned = [k for k in sim.board.keys if bytes(k.verify_key) not in signed]
    signer = sim.rng.choice(unsigned or sim.board.keys)
    if stray:
        signer = sim.rng.choice([sim.board.stranger, *sim.board.keys])
        proposal = sim.db.proposals[sim.rng.choice(ids)]  # perhaps another's bytes
    signature = sign(proposal, signer)

    def body() -> None:
        if key in sim.db.responses:
            return
        db, officers = sim.db, sim.board.officers
        recorded = db.proposals[proposal_id]
        live = (recorded, DEPLOYMENT, proposal_id in db.executed, next_nonce(db))
        check_live(*live, sim.clock.now_us())
        if signature.public_key not in officers.keys:
            raise GovernanceRefused("not an officer", code="governance_signer_unknown")
        if not verifies(recorded, signature):
            raise GovernanceRefused("other bytes", code="governance_signature_invalid")
        if any(s.public_key == signature.public_key for s in db.signatures[proposal_id]):
            raise GovernanceRefused("signed already", code="governance_signature_duplicate")
        db.signatures[proposal_id] = (*db.signatures[proposal_id], signature)
        db.responses[key] = proposal_id

    sim.client("sign", key, key, body)


def client_execute(sim: Simulation) -> None:
    """The treasury executes a signed proposal (``execute``), at times from two places at once:
    it executes once only, in nonce order, with the threshold's valid signatures."""
    ids = sorted(sim.db.proposals)
    if not ids:
        return
    ready = [
        pid
        for pid in _open(sim.db, sim.clock.now_us())
        if len(sim.db.signatures[pid]) >= sim.board.officers.threshold
    ]
    stray = sim.rng.random() < stray_share
    if not ready and not stray:
        return
    proposal_id = sim.rng.choice(ids if stray else ready)
    for _ in range(1 + (sim.rng.random() < concurrent_share)):
        _execute(sim, proposal_id)


def _execute(sim: Simulation, proposal_id: str) -> None:
    key = sim.next_id("key-")

    def body() -> None:
        if key in sim.db.responses:
            return
        db = sim.db
        proposal = db.proposals[proposal_id]
        expected = next_nonce(db)
        if sim.bugs.proposal_unchecked:  # as if its own nonce were the next, and never run
            expected = proposal.nonce
        else:
            check_live(proposal, DEPLOYMENT, proposal_id in db.executed, expected,
                       sim.clock.now_us())  # fmt: skip
        check_executable(proposal, expected, db.signatures[proposal_id], sim.board.officers)
        perform(db, proposal)
        db.executed.append(proposal_id)
        db.responses[key] = proposal_id

    sim.client("execute", key, key, body)


def perform(db: Db, proposal: Proposal) -> None:
    """The action: the parameter set (``parameters.set_``, its value checked)."""
    name = str(proposal.params["name"])
    db.parameters[name] = parameters.PARAMETERS[name].check(proposal.params["value"])
