"""Chapter five: the month ends and is closed by a 2-of-3 proposal (decision 0030). On the
month's last evening the treasury proposes `period.close`; two officers sign the proposal file
on their own machines and the treasury records their signatures; after midnight it executes."""

from __future__ import annotations

from pathlib import Path

from escrow.periods import period, period_of
from settlement.demo import governed
from settlement.demo.story import Step
from settlement.demo.world import DemoError, World

CLOSE_ACTION = "period.close"
PROPOSE_BEFORE_END_S = 2 * 3600
"""The treasury proposes the close two hours before the month ends (22:00 WIB on its last
day): the proposal and its signatures are then entries of the month's own governance log."""
CLOSE_AFTER_MONTH_S = 3600
"""How long after midnight (WIB) of the 1st the treasury executes the close."""
us_per_s = 1_000_000


def propose(world: World) -> str:
    """`msc treasury propose period.close --param period=YYYY-MM --out FILE` on the month's
    last evening."""
    month = period_of(world.clock.now_us())
    evening = period(month).ends_at_us + 1 - PROPOSE_BEFORE_END_S * us_per_s
    world.clock.advance_to(max(world.clock.now_us(), evening))
    proposal, proposal_file = governed.propose(world, CLOSE_ACTION, {"period": month})
    world.scene.month = month
    world.scene.proposal_file = proposal_file
    return (
        f"{world.now_text()}: proposal {proposal.id()[:16]} ({CLOSE_ACTION} {month}, nonce"
        f" {proposal.nonce}) written to {proposal_file}"
    )


def sign_close(world: World) -> str:
    """Two officers run `msc treasury sign FILE --key KEY` offline (the file alone, no
    database); `msc treasury submit FILE` records their signatures, still in the month."""
    proposal_file = _proposal_file(world)
    signers = governed.sign_offline(world, proposal_file)
    recorded = governed.submit(world, proposal_file)
    return f"signed offline by {', '.join(signers)}; {recorded} signatures recorded"


def close(world: World) -> str:
    """`msc treasury execute FILE` once the month has ended (the 1st, 01:00 WIB): the proposal
    has its two signatures, and executing it closes the month."""
    month, proposal_file = world.scene.month, _proposal_file(world)
    world.clock.advance_to(period(month).ends_at_us + 1 + CLOSE_AFTER_MONTH_S * us_per_s)
    done = governed.execute(world, proposal_file)
    result = done["result"]
    return (
        f"{world.now_text()}: {result['period']} closed by proposal {done['id'][:16]}"
        f" ({done['by']}), {result['transfers']} transfers"
    )


def _proposal_file(world: World) -> Path:
    if world.scene.proposal_file is None:
        raise DemoError("no close proposal")
    return world.scene.proposal_file


STEPS: list[Step[World]] = [
    Step("propose", propose),
    Step("sign-close", sign_close),
    Step("close", close),
]
