"""CLI: `msc chain ...`."""

import typer

app = typer.Typer(help="chain commands.", no_args_is_help=True)
