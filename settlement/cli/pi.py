"""CLI: `msc pi ...`."""

import typer

app = typer.Typer(help="pi commands.", no_args_is_help=True)
