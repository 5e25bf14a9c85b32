"""CLI: `msc qris ...`."""

import typer

app = typer.Typer(help="qris commands.", no_args_is_help=True)
