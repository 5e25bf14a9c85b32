"""Chapter four: lock-and-earn (decision 0029). The treasury offers the fixtures' example term
at the demo's rate; a third Pioneer locks Pi from the Pi app (a payment of purpose ``lock``),
its maximum reward reserved from the points budget; days pass and the daily accrual vests part
of it, which the Pioneer reads in ``GET /v1/locks``."""

from __future__ import annotations

from typing import Any

from settlement import parameters
from settlement.demo import governed
from settlement.demo.checkout import bearer, new_pioneer, pays_pi
from settlement.demo.story import Step
from settlement.demo.world import DemoError, World
from settlement.schedule import accrue_and_mature_locks

LOCK_RATE = "0.5"
"""MSC Points per Pi per day the treasury offers for the example term (the fixtures give the
term, not a rate)."""
LOCK_PI = "10"
"""What the third Pioneer locks."""
LOCK_DELAY_S = 600
ACCRUE_AFTER_DAYS = 7
"""Days that pass before the accrual the story shows."""
day_s = 24 * 3600


def lock_terms(world: World) -> str:
    """The treasury offers the example's term: a `parameter.set` proposal of
    `lock_rate_<term>d`, signed by two officers and executed."""
    term = _term(world)
    name = parameters.lock_rate_name(term)
    done = governed.govern(world, "parameter.set", {"name": name, "value": LOCK_RATE})
    return (
        f"{term}-day lock offered: {LOCK_RATE} MSC Points per Pi per day ({name}, proposal"
        f" {done['nonce']} executed)"
    )


def lock(world: World) -> str:
    """POST /v1/locks with the third Pioneer's token, then the Pi app pays it (purpose lock):
    the verified payment opens the position."""
    world.later(LOCK_DELAY_S)
    pioneer = new_pioneer(world, "locker", "penabung")
    body = {"term_days": _term(world), "amount": LOCK_PI, "maturity_action": "a2u"}
    asked = world.call("POST", "/v1/locks", auth=bearer(pioneer), json=body, expect=201,
                       keyed=True)  # fmt: skip
    payment = asked["payment"]
    pays_pi(world, pioneer, payment["amount"], payment["memo"], payment["metadata"])
    position = _position(world, asked["id"])
    if position["status"] != "open":
        raise DemoError(f"lock {asked['id']} is {position['status']}, not open")
    world.scene.lock = position
    return (
        f"Pioneer {pioneer['uid']} locked {position['principal_amount']} PI for"
        f" {position['term_days']} days, {position['reward_max']} points reserved from the budget"
    )


def accrue(world: World) -> str:
    """Days pass; the worker's daily `locks` job (what `msc lock accrue` runs, and matures what
    is due) vests the reward day by day; GET /v1/locks shows it."""
    world.later(ACCRUE_AFTER_DAYS * day_s)
    ran = accrue_and_mature_locks(world.container)
    position = _position(world, world.scene.lock["id"])
    if position["vested_points"] <= 0:
        raise DemoError(f"lock {position['id']} vested nothing in {position['accrued_days']} days")
    world.look_at("/v1/locks", "the locking Pioneer's token")
    return (
        f"{world.now_text()}: locks job {ran};"
        f" {position['accrued_days']} days accrued, {position['vested_points']} of"
        f" {position['reward_max']} points vested"
    )


def _term(world: World) -> int:
    return int(world.incentives["lock_and_earn"]["example"]["term_days"])


def _position(world: World, lock_id: str) -> dict[str, Any]:
    """The Pioneer's position as GET /v1/locks shows it."""
    pioneer = world.scene.pioneers["locker"]
    listed = world.call("GET", "/v1/locks", auth=bearer(pioneer))
    for item in listed["items"]:
        if item["id"] == lock_id:
            return dict(item)
    raise DemoError(f"GET /v1/locks does not list lock {lock_id}")


STEPS: list[Step[World]] = [
    Step("lock-terms", lock_terms),
    Step("lock", lock),
    Step("accrue", accrue),
]
