"""Database plumbing: the URL (configured or embedded), engines, and Alembic migrations.

Only ``msc db upgrade`` migrates (``migrate``); every other command checks the database is at
head (``require_migrated``) and refuses with a one-line hint when it is not, so a deploy
migrates once, in its own step, and no command changes the schema as a side effect.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import ProgrammingError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
pool_size_default = 10


def sqlalchemy_url(url: str) -> str:
    """Normalise ``postgresql://`` URLs to the psycopg 3 driver SQLAlchemy should use."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def make_engine(url: str, **kwargs: Any) -> Engine:  # noqa: ANN401 - passed through to SQLAlchemy
    """An engine with the pool and isolation settings the ledger expects (READ COMMITTED)."""
    options: dict[str, Any] = {
        "pool_size": pool_size_default,
        "pool_pre_ping": True,
        # The ledger's statements are short and batch-shaped; JIT compiling them costs more than
        # it saves (about 12 ms on a batch of 8190).
        "connect_args": {"options": "-c jit=off"},
    }
    options.update(kwargs)
    return create_engine(sqlalchemy_url(url), **options)


def alembic_config(url: str) -> Config:
    """The project's Alembic configuration pointed at ``url``."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest migration (``alembic upgrade head``)."""
    command.upgrade(alembic_config(url), "head")


UPGRADE_HINT = "run `msc db upgrade` first"


class DatabaseNotMigrated(RuntimeError):
    """The database's schema is not the one this code knows: a command refuses to run on it."""


@cache
def code_heads() -> frozenset[str]:
    """The newest migration revisions in this source tree (read once per process)."""
    return frozenset(ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_heads())


def database_heads(connection: Connection) -> frozenset[str]:
    """The revisions the database is at (none before its first upgrade).

    Read from ``alembic_version`` directly: Alembic's MigrationContext logs three lines each
    time, which a readiness probe every few seconds turned into noise.
    """
    try:
        with connection.begin_nested():
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except ProgrammingError:
        return frozenset()
    return frozenset(str(row[0]) for row in rows)


def migrations_at_head(connection: Connection) -> bool:
    """True when the database's Alembic revision is the newest one the code knows."""
    return database_heads(connection) == code_heads()


def require_migrated(engine: Engine) -> None:
    """Refuse (``DatabaseNotMigrated``, one line) a database that is not at the code's head."""
    with engine.connect() as conn:
        found = database_heads(conn)
    if found == code_heads():
        return
    at = ", ".join(sorted(found)) or "no migrations"
    wanted = ", ".join(sorted(code_heads()))
    raise DatabaseNotMigrated(f"the database is at {at}, this code needs {wanted}: {UPGRADE_HINT}")
