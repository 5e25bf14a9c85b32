"""The demo's story in order, and the run around it: fixtures, a fresh database and folder, the
local anvil, the service wired on a simulated clock, the API served over HTTP.

Besides the API, the demo runs a local tlog witness (``msc-audit witness serve``'s server) on
a free port, following the demo's own log key; it is the demo's one ``MSC_TLOG_WITNESSES``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from escrow.calendar import format_wib
from escrow.clock import FixedClock, SystemClock
from escrow.periods import period, period_of
from settlement.bootstrap import Container, build_container, build_log_config
from settlement.config import Settings
from settlement.db import migrate
from settlement.demo import bundle, checkout, conversion, locks, merchant, month, rails
from settlement.demo.fixtures import fixtures_dir, read_fixture
from settlement.demo.running import (
    DEMO_DATABASE,
    demo_database,
    demo_settings,
    fresh_folder,
    local_chain,
    local_witness,
    refuse_unsafe,
    serving,
)
from settlement.demo.story import Story
from settlement.demo.world import World

if TYPE_CHECKING:
    from starlette.types import ASGIApp

STORY_DAY_OFFSET_S = (9 * 24 + 9) * 3600
"""The story starts on the 10th of last month (WIB), 09:00: a past month it can close."""
DEMO_HOST = "127.0.0.1"
http_timeout_s = 30.0
serve_poll_s = 1.0
VERIFIED = "verified"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``msc demo`` was asked for."""

    database: str = DEMO_DATABASE
    fixtures: Path | None = None
    keep_serving: bool = False


def story() -> Story[World]:
    """Every step of the demo, in the order it happens."""
    return Story(
        [
            *rails.STEPS,
            *merchant.STEPS,
            *checkout.STEPS,
            *conversion.STEPS,
            *locks.STEPS,
            *month.STEPS,
            *bundle.STEPS,
        ]
    )


def story_start_us(now_us: int) -> int:
    """When the simulated clock starts: ``STORY_DAY_OFFSET_S`` into the month before now's."""
    this_month = period(period_of(now_us))
    last_month = period(period_of(this_month.starts_at_us - 1))
    return last_month.starts_at_us + STORY_DAY_OFFSET_S * 1_000_000


def play(
    settings: Settings,
    make_app: Callable[[Container], ASGIApp],
    echo: Callable[[str], None],
    options: DemoOptions,
) -> None:
    """Run the whole story; ``StepFailed`` when a step fails (its line already printed)."""
    refuse_unsafe(settings, options.database)
    found = fixtures_dir(options.fixtures)
    pilot = read_fixture(found, "pilot.json")
    incentives = read_fixture(found, "incentives.json")
    folder = fresh_folder(settings)
    with demo_database(settings, options.database) as url:
        migrate(url)
        wired = demo_settings(settings, url, folder)
        echo(f"database  {options.database} (new), fixtures from {found}")
        with (
            local_chain(wired),
            local_witness(folder, build_log_config(wired), DEMO_HOST) as witness,
        ):
            wired = wired.model_copy(update={"tlog_witnesses": [witness]})
            echo(f"witness   {witness.url} ({witness.vkey})")
            clock = FixedClock(story_start_us(SystemClock().now_us()))
            container = build_container(wired, url, clock)
            try:
                with (
                    serving(make_app(container), DEMO_HOST) as base,
                    httpx.Client(base_url=base, timeout=http_timeout_s) as http,
                ):
                    echo(f"API       {base} (Pi sandbox at {base}/pi-sandbox)")
                    echo(f"clock     starts {format_wib(clock.now_us())} (simulated)")
                    world = World(container, clock, http, base, folder, pilot, incentives)
                    story().play(world, echo)
                    where_to_look(world, echo, options.keep_serving)
                    echo(VERIFIED)
                    if options.keep_serving:
                        serve_until_interrupted(base, echo)
            finally:
                container.engine.dispose()


def where_to_look(world: World, echo: Callable[[str], None], serving_on: bool) -> None:
    """The API's pages the story touched, the witness, the bundle folder and the auditor's
    command."""
    up = "" if serving_on else " (up while the demo runs: --keep-serving keeps it)"
    echo(f"where to look{up}:")
    echo(f"  API docs  {world.base_url}/docs")
    for line in world.scene.look:
        echo(f"  GET       {line}")
    for witness in world.container.settings.tlog_witnesses:
        echo(f"  witness   {witness.url}/  (its key; POST /add-checkpoint)")
    echo(f"  bundle    {world.scene.bundle}")
    echo(f"  officers  {world.scene.officers_file}")
    echo(f"  proposal  {world.scene.proposal_file}")
    echo(f"  auditor   {world.scene.audit_command}")
    if serving_on:
        for who, header in demo_credentials(world).items():
            echo(f"  {who:<9} Authorization: {header}")


def demo_credentials(world: World) -> dict[str, str]:
    """The demo's own merchant key and Pioneer tokens (sandbox only; never the operator's)."""
    found = {"merchant": world.scene.merchant.get("Authorization", "")}
    for role, pioneer in world.scene.pioneers.items():
        found[role] = f"Bearer {pioneer['access_token']}"
    return found


def serve_until_interrupted(base: str, echo: Callable[[str], None]) -> None:
    """Keep the API up until Ctrl-C."""
    echo(f"serving {base} until Ctrl-C")
    stop = threading.Event()
    try:
        while not stop.wait(serve_poll_s):
            pass
    except KeyboardInterrupt:
        echo("stopped")
