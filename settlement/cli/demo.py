"""CLI: ``msc demo``, the pilot's whole story on a database and a clock of its own (decision
0035): it prints each step, where to look, and ends with ``verified``; run it again at will.

With ``api`` the second module of ``settlement`` allowed to import the HTTP app (lazily, inside
the command; tests/unit/test_layers.py): the demo serves the API it drives.

Exit codes: 0 verified, 1 a step failed (its line names what), 2 the demo cannot run here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from settlement.cli.output import EXIT_REFUSED
from settlement.config import Settings
from settlement.logging import configure_logging

EXIT_UNAVAILABLE = 2
DEMO_LOG_LEVEL = "WARNING"
"""The steps' lines are the demo's output; the service's log says only what went wrong."""


def demo(
    keep_serving: Annotated[
        bool, typer.Option("--keep-serving", help="Keep the API up after the story, until Ctrl-C.")
    ] = False,
    database: Annotated[
        str,
        typer.Option(
            "--database",
            help="The demo's database on MSC_DATABASE_URL's server (dropped and made anew).",
        ),
    ] = "msc_demo",
    fixtures: Annotated[
        Path | None,
        typer.Option(
            "--fixtures", help="Folder of pilot.json and incentives.json (MSC_FIXTURES_DIR)."
        ),
    ] = None,
) -> None:
    """Play the pilot's story (onboarding, a split Pi + QRIS payment, settlement, a conversion
    and withdrawal, the month's close, audit bundle, signatures, anchor) and verify it."""
    from api.app import create_app
    from settlement.demo.fixtures import FixturesMissing
    from settlement.demo.play import DemoOptions, play
    from settlement.demo.running import DemoUnavailable
    from settlement.demo.story import StepFailed
    from settlement.service import sigterm_unwinds

    settings = Settings()
    configure_logging(DEMO_LOG_LEVEL, to="stderr", secrets=settings.secret_values())
    options = DemoOptions(database=database, fixtures=fixtures, keep_serving=keep_serving)
    try:
        with sigterm_unwinds():
            play(settings, create_app, typer.echo, options)
    except StepFailed:
        raise typer.Exit(EXIT_REFUSED) from None
    except (DemoUnavailable, FixturesMissing) as unavailable:
        typer.echo(f"msc demo: {unavailable}", err=True)
        raise typer.Exit(EXIT_UNAVAILABLE) from None
