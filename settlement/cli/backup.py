"""CLI: ``msc backup create|restore|verify`` (scripts/backup and scripts/restore call these).

``create`` writes a pg_dump (custom format) and its manifest from one snapshot; ``restore``
loads a backup into an empty database and verifies it against the manifest; ``verify`` checks a
database against a manifest (revision, trial balance, the last closed month's digest).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from settlement.backup import (
    BackupError,
    create,
    database_is_empty,
    read_manifest,
    restore,
    verify,
)
from settlement.cli.errors import CommandFailed
from settlement.cli.output import Output, OutputOption, emit
from settlement.config import Settings
from settlement.db import make_engine, require_migrated
from settlement.service import running_database

app = typer.Typer(help="Backups: pg_dump with a manifest; restore into a fresh database.")


@app.command("create")
def create_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the dump and its manifest.")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Dump the database and write its manifest (trial balance, last closed month's digest)."""
    settings = Settings()
    with running_database(settings, create=False) as url:
        engine = make_engine(url)
        try:
            require_migrated(engine)
        finally:
            engine.dispose()
        try:
            made = create(url, out, datetime.now(UTC))
        except BackupError as failed:
            raise CommandFailed(str(failed)) from None
    emit(
        {"manifest": str(made.manifest), "dump": str(made.dump)},
        output,
        text=lambda r: str(r["manifest"]),
    )


@app.command("restore")
def restore_command(
    manifest: Annotated[Path, typer.Argument(help="The backup's .manifest.json.")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Restore the backup into the configured database, which must be empty, then verify it."""
    settings = Settings()
    with running_database(settings, create=False) as url:
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                if not database_is_empty(conn):
                    raise CommandFailed("the database is not empty: restore into a fresh one")
            restore(url, manifest)
            checks = verify(engine, read_manifest(manifest), _key(settings))
        except BackupError as failed:
            raise CommandFailed(str(failed)) from None
        finally:
            engine.dispose()
    _emit_checks(checks, output)


@app.command("verify")
def verify_command(
    manifest: Annotated[Path, typer.Argument(help="The backup's .manifest.json.")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Check the configured database against a backup's manifest (exit 1 on a mismatch)."""
    settings = Settings()
    with running_database(settings, create=False) as url:
        engine = make_engine(url)
        try:
            checks = verify(engine, read_manifest(manifest), _key(settings))
        except BackupError as failed:
            raise CommandFailed(str(failed)) from None
        finally:
            engine.dispose()
    _emit_checks(checks, output)


def _key(settings: Settings) -> bytes:
    return settings.pseudonym_key.get_secret_value().encode("utf-8")


def _emit_checks(checks: list[str], output: Output) -> None:
    emit({"checks": checks}, output, text=lambda r: "\n".join(r["checks"]))
