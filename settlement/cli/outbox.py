"""CLI: `msc outbox parked` and `msc outbox requeue`: side effects that gave up, sent round again.

Exit codes: 0 done, 1 some id was not parked (nothing else is changed by that).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from settlement.cli.database import run_in_database
from settlement.outbox import NotParked, parked, requeue

app = typer.Typer(help="The outbox of network side effects.", no_args_is_help=True)

EXIT_NOT_PARKED = 1


@app.command("parked")
def parked_command(
    limit: Annotated[
        int, typer.Option(min=1, max=10_000, help="At most this many, oldest first.")
    ] = 100,
) -> None:
    """Print the parked messages, one JSON object per line."""
    for message in run_in_database(lambda conn: parked(conn, limit)):
        typer.echo(
            json.dumps(
                {
                    "id": message.id,
                    "kind": message.kind,
                    "key": message.key,
                    "attempts": message.attempts,
                    "last_error": message.last_error,
                    "created_at": message.created_at.isoformat(),
                }
            )
        )


@app.command("requeue")
def requeue_command(
    ids: Annotated[list[int], typer.Argument(help="Ids of parked messages (`msc outbox parked`).")],
    by: Annotated[str, typer.Option("--by", help="Who sends them round again (logged).")],
) -> None:
    """Make parked messages due again, all or none: exit 1 if any id is not parked."""
    try:
        requeued = run_in_database(lambda conn: requeue(conn, ids, by))
    except NotParked as refused:
        typer.echo(f"nothing requeued: {refused}", err=True)
        raise typer.Exit(EXIT_NOT_PARKED) from None
    typer.echo(json.dumps({"requeued": requeued, "by": by}))
