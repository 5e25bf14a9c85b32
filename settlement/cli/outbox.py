"""CLI: `msc outbox parked` and `msc outbox requeue`: side effects that gave up, sent round again.

Exit codes: 0 done, 1 some id was not parked (nothing else is changed by that).
"""

from __future__ import annotations

from typing import Annotated

import typer

from settlement.cli.database import run_in_database
from settlement.cli.output import ByOption, Output, OutputOption, emit, record_operator
from settlement.outbox import NotParked, parked, requeue

app = typer.Typer(help="The outbox of network side effects.", no_args_is_help=True)

EXIT_NOT_PARKED = 1


@app.command("parked")
def parked_command(
    limit: Annotated[
        int, typer.Option(min=1, max=10_000, help="At most this many, oldest first.")
    ] = 100,
    output: OutputOption = Output.TEXT,
) -> None:
    """Print the parked messages, oldest first."""
    messages = run_in_database(lambda conn: parked(conn, limit))
    emit(
        [
            {
                "id": message.id,
                "kind": message.kind,
                "key": message.key,
                "attempts": message.attempts,
                "last_error": message.last_error,
                "created_at": message.created_at.isoformat(),
            }
            for message in messages
        ],
        output,
    )


@app.command("requeue")
def requeue_command(
    ids: Annotated[list[int], typer.Argument(help="Ids of parked messages (`msc outbox parked`).")],
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Make parked messages due again, all or none: exit 1 if any id is not parked."""
    record_operator("outbox requeue", by)
    try:
        requeued = run_in_database(lambda conn: requeue(conn, ids, by))
    except NotParked as refused:
        typer.echo(f"nothing requeued: {refused}", err=True)
        raise typer.Exit(EXIT_NOT_PARKED) from None
    emit({"requeued": requeued, "by": by}, output)
