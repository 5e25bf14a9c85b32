"""The treasury's officers in the demo and its governed actions (decision 0030): three officers
registered as the first officer set, and each decision that needs a proposal proposed, signed
offline by two officers over the proposal file and executed, as `msc treasury` does it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from settlement.audit.proposal import Proposal, read_file, sign_file, write_file
from settlement.audit.signing import load_officers, load_signing_key, write_new_key
from settlement.demo.world import DemoError, World
from settlement.governance import log as governance_log
from settlement.governance import treasury
from settlement.governance.actions import Wiring
from settlement.unit_of_work import UnitOfWork

OFFICERS = ("bendahara", "sekretaris", "auditor")
OFFICERS_THRESHOLD = 2
OFFICERS_FOLDER = "officers"
us_per_s = 1_000_000


def officers(world: World) -> str:
    """Three officers make their keys (`msc treasury keygen`); `msc treasury init --officers`
    registers them as the first officer set (the audit's officers too): two must sign."""
    folder = world.folder / OFFICERS_FOLDER
    folder.mkdir()
    entries = []
    for name in OFFICERS:
        key_file = folder / f"{name}.key"
        entries.append({"name": name, "public_key": write_new_key(key_file)})
        world.scene.officer_keys.append(key_file)
    officers_file = folder / "officers.json"
    officers_file.write_text(
        json.dumps({"threshold": OFFICERS_THRESHOLD, "officers": entries}, indent=2) + "\n"
    )
    world.scene.officers_file = officers_file
    held = load_officers(officers_file)
    genesis = world.treasury(lambda uow: treasury.register_officers(uow, held.keys, held.threshold))
    return (
        f"{len(OFFICERS)} officers registered (governance log entry {genesis['seq']}),"
        f" {OFFICERS_THRESHOLD} signatures needed: {officers_file}"
    )


def propose(world: World, action: str, params: dict[str, Any]) -> tuple[Proposal, Path]:
    """`msc treasury propose ACTION --params JSON --out FILE`: the proposal and its file."""
    settings = world.container.settings
    expires = world.clock.now_us() + settings.governance_proposal_ttl_s * us_per_s
    proposal = world.treasury(
        lambda uow: treasury.propose(uow, settings.deployment_id, action, params, expires)
    )
    proposal_file = world.folder / OFFICERS_FOLDER / f"proposal-{proposal.nonce}.json"
    write_file(proposal_file, proposal)
    return proposal, proposal_file


def sign_offline(world: World, proposal_file: Path) -> list[str]:
    """`msc treasury sign FILE --key KEY` by the first two officers (the file alone); who
    signed."""
    for key_file in world.scene.officer_keys[:OFFICERS_THRESHOLD]:
        sign_file(proposal_file, load_signing_key(key_file))
    return list(OFFICERS[:OFFICERS_THRESHOLD])


def submit(world: World, proposal_file: Path) -> int:
    """`msc treasury submit FILE`: record the file's signatures; how many were new."""
    return world.treasury(lambda uow: _submit(uow, world, proposal_file))


def execute(world: World, proposal_file: Path) -> dict[str, Any]:
    """`msc treasury execute FILE`: record the file's signatures and execute the proposal in one
    transaction; the execution (its action's result under ``result``)."""
    deployment = world.container.settings.deployment_id

    def work(uow: UnitOfWork) -> dict[str, Any]:
        _submit(uow, world, proposal_file)
        return treasury.execute(uow, deployment, read_file(proposal_file)[0].id(), Wiring())

    return world.treasury(work)


def govern(world: World, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """A treasury decision as decision 0030 wants it: proposed, signed offline by two officers,
    executed; the execution."""
    if not world.scene.officer_keys:
        raise DemoError(f"{action} needs the officers registered first")
    _, proposal_file = propose(world, action, params)
    sign_offline(world, proposal_file)
    return execute(world, proposal_file)


def _submit(uow: UnitOfWork, world: World, proposal_file: Path) -> int:
    proposal, signatures = read_file(proposal_file)
    deployment = world.container.settings.deployment_id
    known = {s.public_key for s in governance_log.signatures(uow.conn, proposal.id())}
    fresh = [s for s in signatures if s.public_key not in known]
    for signature in fresh:
        treasury.add_signature(uow, deployment, proposal.id(), signature)
    return len(fresh)
