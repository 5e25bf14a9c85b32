"""CLI: ``msc db upgrade|status``, the one place migrations run (decision 0034).

A deploy runs ``msc db upgrade`` once, as its own step (the compose file's ``migrate`` service,
``scripts/run`` before ``msc serve``); every other command refuses a database that is not at
head with a one-line hint instead of changing the schema as a side effect.
"""

from __future__ import annotations

import typer

from settlement.cli.output import Output, OutputOption, emit
from settlement.config import Settings
from settlement.db import code_heads, database_heads, make_engine, migrate
from settlement.service import running_database

app = typer.Typer(help="The database's schema: upgrade to this code's migrations.")


@app.command("upgrade")
def upgrade(output: OutputOption = Output.TEXT) -> None:
    """Migrate the database to this code's newest revision (the embedded one is created)."""
    with running_database(Settings(), create=True) as url:
        migrate(url)
    heads = sorted(code_heads())
    emit({"revision": heads}, output, text=lambda r: f"database at {', '.join(r['revision'])}")


@app.command("status")
def status(output: OutputOption = Output.TEXT) -> None:
    """Print the database's revision and whether it is at this code's head (exit 1 if not)."""
    with running_database(Settings(), create=False) as url:
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                found = database_heads(conn)
        finally:
            engine.dispose()
    at_head = found == code_heads()
    emit(
        {"revision": sorted(found), "at_head": at_head},
        output,
        text=lambda r: (
            f"{', '.join(r['revision']) or 'none'} ({'at head' if at_head else 'behind'})"
        ),
    )
    if not at_head:
        raise typer.Exit(1)
