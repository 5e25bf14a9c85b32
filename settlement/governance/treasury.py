"""Governance use cases: register the first officers, propose, sign, execute, read.

Each runs in the caller's unit of work under the governance log's lock, so that the checks
and the append are one step. A proposal executes only when its nonce is the next one, it has
not expired, it is for this deployment, and at least the threshold of the officers in force
have signed exactly its bytes; executing it performs the action in the same transaction that
records the execution (both or neither).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from settlement.audit import bundle as b
from settlement.audit import governance_log as g
from settlement.audit.bundle import BundleError
from settlement.audit.proposal import (
    Proposal,
    ProposalError,
    Signature,
    read_proposal,
    valid_signers,
    verifies,
)
from settlement.governance import actions
from settlement.governance import log as store
from settlement.governance.errors import GovernanceRefused, refused
from settlement.unit_of_work import UnitOfWork

by_prefix = "gov:"
"""The actor an executed proposal's action records: ``gov:<nonce>:<id prefix>``."""
id_prefix_chars = 16


def register_officers(uow: UnitOfWork, officers: g.Named, threshold: int) -> dict[str, Any]:
    """Record the first officer set (``officers.genesis``); every later change is a proposal."""
    store.lock(uow.conn)
    if store.officers_at(uow.conn) is not None:
        raise GovernanceRefused(
            "the officers are registered: change them with an officers.* proposal",
            code="governance_already_initialised",
        )
    checked = _valid_set(officers, threshold)
    return store.append(uow.conn, g.GENESIS, uow.clock.now_us(), checked.as_json(), officers=True)


def propose(
    uow: UnitOfWork,
    deployment: str,
    action_name: str,
    params: Mapping[str, Any],
    expires_at_us: int,
    nonce: int | None = None,
) -> Proposal:
    """Record a proposal (the next nonce unless one is given); the same proposal twice is
    recorded once."""
    store.lock(uow.conn)
    officers = _officers(uow)
    expected = store.next_nonce(uow.conn)
    try:
        proposal = read_proposal(
            {
                "action": action_name,
                "deployment": deployment,
                "expires_at_us": expires_at_us,
                "nonce": expected if nonce is None else nonce,
                "params": dict(params),
            }
        )
    except ProposalError as bad:
        raise refused(bad) from None
    _check_action(proposal, officers)
    _check_live(uow, proposal, deployment, expected)
    if proposal.nonce > expected:
        raise GovernanceRefused(
            f"nonce {proposal.nonce} is ahead of the next, {expected}",
            code="governance_nonce_ahead",
        )
    if store.created(uow.conn, proposal.id()) is None:
        fields = {"id": proposal.id(), "proposal": proposal.body()}
        store.append(uow.conn, g.CREATED, uow.clock.now_us(), fields, proposal.id(), proposal.nonce)
    return proposal


def add_signature(uow: UnitOfWork, deployment: str, proposal_id: str, signature: Signature) -> None:
    """Record one officer's signature over the proposal: a current officer's, over exactly its
    bytes, once."""
    store.lock(uow.conn)
    officers = _officers(uow)
    proposal = _recorded(uow, proposal_id)
    _check_live(uow, proposal, deployment, store.next_nonce(uow.conn))
    if signature.public_key not in officers.keys:
        raise GovernanceRefused(
            "this key is not one of the officers in force", code="governance_signer_unknown"
        )
    if not verifies(proposal, signature):
        raise GovernanceRefused(
            "the signature is not over this proposal's bytes", code="governance_signature_invalid"
        )
    if any(s.public_key == signature.public_key for s in store.signatures(uow.conn, proposal_id)):
        raise GovernanceRefused(
            "this officer has signed the proposal already", code="governance_signature_duplicate"
        )
    fields = {"id": proposal_id, "signature": signature.as_json()}
    store.append(
        uow.conn,
        g.SIGNED,
        uow.clock.now_us(),
        fields,
        proposal_id,
        public_key=signature.public_key.hex(),
    )


def execute(
    uow: UnitOfWork, deployment: str, proposal_id: str, wiring: actions.Wiring | None = None
) -> dict[str, Any]:
    """Execute the proposal: check it, perform its action (with the entry point's ``wiring``),
    record the execution; the action's result."""
    store.lock(uow.conn)
    officers = _officers(uow)
    proposal = _recorded(uow, proposal_id)
    expected = store.next_nonce(uow.conn)
    _check_live(uow, proposal, deployment, expected)
    recorded = store.signatures(uow.conn, proposal_id)
    valid = check_executable(proposal, expected, recorded, officers)
    by = f"{by_prefix}{proposal.nonce}:{proposal_id[:id_prefix_chars]}"
    after: store.Officers | None = None
    if proposal.action in g.OFFICER_ACTIONS:
        after = _changed(officers, proposal)
        result: dict[str, Any] = {"officers": after.as_json()}
    else:
        performed = actions.action(proposal.action).perform
        result = performed(uow, proposal.params, by, wiring or actions.Wiring())
    counted = sorted((s for s in recorded if s.public_key in valid), key=lambda s: s.public_key)
    fields = {
        "id": proposal_id,
        "officers": None if after is None else after.as_json(),
        "proposal": proposal.body(),
        "signatures": [s.as_json() for s in counted],
    }
    entry = store.append(
        uow.conn,
        g.EXECUTED,
        uow.clock.now_us(),
        fields,
        proposal_id,
        proposal.nonce,
        officers=after is not None,
    )
    return {"id": proposal_id, "nonce": proposal.nonce, "action": proposal.action,
            "executed_seq": entry["seq"], "by": by, "result": result}  # fmt: skip


def state(uow: UnitOfWork, proposal_id: str) -> dict[str, Any]:
    """A proposal with its signatures and whether it executed or can."""
    proposal = _recorded(uow, proposal_id)
    officers = _officers(uow)
    recorded = store.signatures(uow.conn, proposal_id)
    executed_at = store.executed_at(uow.conn, proposal_id)
    expected = store.next_nonce(uow.conn)
    now = uow.clock.now_us()
    status = (
        "executed" if executed_at is not None
        else "void" if proposal.nonce < expected
        else "expired" if now > proposal.expires_at_us
        else "open"
    )  # fmt: skip
    return {
        "id": proposal_id,
        "proposal": proposal.body(),
        "signatures": [s.as_json() for s in recorded],
        "valid_signers": len(valid_signers(proposal, recorded, officers.keys)),
        "threshold": officers.threshold,
        "status": status,
        "executed_at_us": executed_at,
    }


def action_of(uow: UnitOfWork, proposal_id: str) -> str:
    """The action of the recorded proposal."""
    return _recorded(uow, proposal_id).action


def message_of(uow: UnitOfWork, proposal_id: str) -> bytes:
    """The bytes officers sign for the recorded proposal."""
    return _recorded(uow, proposal_id).message()


def officers_now(uow: UnitOfWork) -> store.Officers:
    """The officer set in force (``governance_not_initialised`` before the genesis)."""
    return _officers(uow)


def _officers(uow: UnitOfWork) -> store.Officers:
    found = store.officers_at(uow.conn)
    if found is None:
        raise GovernanceRefused(
            "no officers are registered yet: msc treasury init --officers FILE",
            code="governance_not_initialised",
        )
    return found


def _recorded(uow: UnitOfWork, proposal_id: str) -> Proposal:
    found = store.created(uow.conn, proposal_id) if isinstance(proposal_id, str) else None
    if found is None:
        raise GovernanceRefused(
            f"no proposal {proposal_id!r} was made here", code="governance_proposal_unknown"
        )
    return found


def _check_live(uow: UnitOfWork, proposal: Proposal, deployment: str, expected: int) -> None:
    """This deployment's, not executed, nonce not used, not expired."""
    executed = store.executed_at(uow.conn, proposal.id()) is not None
    check_live(
        proposal, deployment, executed, expected, store.log_time(uow.conn, uow.clock.now_us())
    )


def check_live(
    proposal: Proposal, deployment: str, executed: bool, expected: int, log_now_us: int
) -> None:
    """Refuse a proposal of another deployment, executed already, of a used nonce, or expired
    at the governance log's time ``log_now_us``; ``expected`` is the next nonce."""
    if proposal.deployment != deployment:
        raise GovernanceRefused(
            f"the proposal is for deployment {proposal.deployment!r}, this is {deployment!r}",
            code="governance_wrong_deployment",
        )
    if executed:
        raise GovernanceRefused(
            "the proposal was executed already; it never executes twice",
            code="governance_proposal_replayed",
        )
    if proposal.nonce < expected:
        raise GovernanceRefused(
            f"nonce {proposal.nonce} is used (the next is {expected})",
            code="governance_nonce_used",
        )
    if log_now_us > proposal.expires_at_us:
        raise GovernanceRefused("the proposal has expired", code="governance_proposal_expired")


def check_executable(
    proposal: Proposal, expected: int, recorded: Sequence[Signature], officers: store.Officers
) -> frozenset[bytes]:
    """The officers whose signatures count, when the proposal's nonce is the next and the
    threshold of the officers in force signed it; else refused."""
    if proposal.nonce != expected:
        raise GovernanceRefused(
            f"nonce {proposal.nonce} is not the next, {expected}: execute that one first",
            code="governance_nonce_ahead",
        )
    valid = valid_signers(proposal, recorded, officers.keys)
    if len(valid) < officers.threshold:
        raise GovernanceRefused(
            f"{len(valid)} valid signatures of the officers in force, {officers.threshold} needed",
            code="governance_signatures_insufficient",
        )
    return valid


def _check_action(proposal: Proposal, officers: store.Officers) -> None:
    found = actions.action(proposal.action)
    if proposal.action in g.OFFICER_ACTIONS:
        _changed(officers, proposal)
    else:
        found.check(proposal.params)


def _changed(officers: store.Officers, proposal: Proposal) -> store.Officers:
    try:
        named, threshold = g.named_change(
            officers.officers, officers.threshold, proposal.action, proposal.params
        )
    except ProposalError as bad:
        raise refused(bad) from None
    return store.Officers(named, threshold)


def _valid_set(officers: g.Named, threshold: int) -> store.Officers:
    """An officer set as genesis registers it: 1 to 64 officers, distinct keys, 1 <= M <= N."""
    held = store.Officers(tuple(officers), threshold)
    try:
        b.officer_set(held.as_json(), "officers")
    except BundleError as bad:
        raise GovernanceRefused(bad.reason, code="governance_action_invalid") from None
    return held
