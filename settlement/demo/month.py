"""Chapter five: the month ends and is closed by a 2-of-3 proposal (decision 0030). Three
officers make their keys and are registered as the treasury's first officer set; on the month's
last evening the treasury proposes `period.close`; two officers sign the proposal file on their
own machines and the treasury records their signatures; after midnight it executes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from escrow.periods import period, period_of
from settlement.audit.proposal import read_file, sign_file, write_file
from settlement.audit.signing import load_officers, load_signing_key, write_new_key
from settlement.demo.story import Step
from settlement.demo.world import DemoError, World
from settlement.governance import log as governance_log
from settlement.governance import treasury
from settlement.governance.actions import Wiring
from settlement.unit_of_work import UnitOfWork

OFFICERS = ("bendahara", "sekretaris", "auditor")
OFFICERS_THRESHOLD = 2
CLOSE_ACTION = "period.close"
PROPOSE_BEFORE_END_S = 2 * 3600
"""The treasury proposes the close two hours before the month ends (22:00 WIB on its last
day): the proposal and its signatures are then entries of the month's own governance log."""
CLOSE_AFTER_MONTH_S = 3600
"""How long after midnight (WIB) of the 1st the treasury executes the close."""
us_per_s = 1_000_000


def officers(world: World) -> str:
    """Three officers make their keys (`msc treasury keygen`); `msc treasury init --officers`
    registers them as the first officer set (the audit's officers too): two must sign."""
    folder = world.folder / "officers"
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


def propose(world: World) -> str:
    """`msc treasury propose period.close --param period=YYYY-MM --out FILE` on the month's
    last evening."""
    month = period_of(world.clock.now_us())
    world.clock.advance_to(
        max(world.clock.now_us(), period(month).ends_at_us + 1 - PROPOSE_BEFORE_END_S * us_per_s)
    )
    settings = world.container.settings
    expires = world.clock.now_us() + settings.governance_proposal_ttl_s * us_per_s
    proposal = world.treasury(
        lambda uow: treasury.propose(
            uow, settings.deployment_id, CLOSE_ACTION, {"period": month}, expires
        )
    )
    proposal_file = world.folder / "officers" / f"close-{month}.json"
    write_file(proposal_file, proposal)
    world.scene.month = month
    world.scene.proposal_file = proposal_file
    return (
        f"{world.now_text()}: proposal {proposal.id()[:16]} ({CLOSE_ACTION} {month}, nonce"
        f" {proposal.nonce}) written to {proposal_file}"
    )


def sign_close(world: World) -> str:
    """Two officers run `msc treasury sign FILE --key KEY` offline (the file alone, no
    database); `msc treasury submit FILE` records their signatures."""
    proposal_file = _proposal_file(world)
    signers = world.scene.officer_keys[:OFFICERS_THRESHOLD]
    for key_file in signers:
        sign_file(proposal_file, load_signing_key(key_file))
    recorded = world.treasury(lambda uow: _submit(uow, world, proposal_file))
    return (
        f"signed offline by {', '.join(OFFICERS[: len(signers)])};"
        f" {recorded} signatures recorded in the governance log"
    )


def close(world: World) -> str:
    """`msc treasury execute FILE` once the month has ended (the 1st, 01:00 WIB): the proposal
    has its two signatures, and executing it closes the month."""
    month, proposal_file = world.scene.month, _proposal_file(world)
    world.clock.advance_to(period(month).ends_at_us + 1 + CLOSE_AFTER_MONTH_S * us_per_s)
    deployment = world.container.settings.deployment_id

    def execute(uow: UnitOfWork) -> dict[str, Any]:
        _submit(uow, world, proposal_file)
        return treasury.execute(uow, deployment, read_file(proposal_file)[0].id(), Wiring())

    done = world.treasury(execute)
    result = done["result"]
    return (
        f"{world.now_text()}: {result['period']} closed by proposal {done['id'][:16]}"
        f" ({done['by']}), {result['transfers']} transfers"
    )


def _submit(uow: UnitOfWork, world: World, proposal_file: Path) -> int:
    """Record the file's signatures not recorded yet (what `msc treasury submit` does)."""
    proposal, signatures = read_file(proposal_file)
    deployment = world.container.settings.deployment_id
    known = {s.public_key for s in governance_log.signatures(uow.conn, proposal.id())}
    fresh = [s for s in signatures if s.public_key not in known]
    for signature in fresh:
        treasury.add_signature(uow, deployment, proposal.id(), signature)
    return len(fresh)


def _proposal_file(world: World) -> Path:
    if world.scene.proposal_file is None:
        raise DemoError("no close proposal")
    return world.scene.proposal_file


STEPS: list[Step[World]] = [
    Step("officers", officers),
    Step("propose", propose),
    Step("sign-close", sign_close),
    Step("close", close),
]
