"""What a user can cause, said in one line with an exit code; programmer errors keep their
traceback.

Exit codes: 1 operational (no database, Redis or PostgreSQL unreachable, busy port, refused),
2 usage (configuration the service cannot start with).
"""

from __future__ import annotations

from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from escrow.refusals import Refusal
from settlement.config import ConfigurationError, Settings
from settlement.db import DatabaseNotMigrated
from settlement.evm.deployment import DeploymentLostError, DeploymentMissingError
from settlement.service import DatabaseNotFound

EXIT_OPERATIONAL = 1
EXIT_USAGE = 2


class CommandFailed(RuntimeError):
    """A command cannot do what was asked for a reason the user can fix (exit 1)."""


REFUSALS = (
    CommandFailed,
    DatabaseNotFound,
    DatabaseNotMigrated,
    DeploymentMissingError,
    DeploymentLostError,
    Refusal,
)
"""Refusals whose message is already the one line to show (any ``Refusal`` a command does not
answer itself included)."""


KNOWN = (
    (ConfigurationError, "configuration: ", EXIT_USAGE),
    ((RedisConnectionError, RedisTimeoutError), "cannot reach Redis: ", EXIT_OPERATIONAL),
    (OperationalError, "cannot reach the database: ", EXIT_OPERATIONAL),
    (DataError, "the database refused the input: ", EXIT_OPERATIONAL),
    (REFUSALS, "", EXIT_OPERATIONAL),
)
"""Each kind of user-caused error: the line's prefix and the exit code."""


def user_error(error: Exception) -> tuple[str, int] | None:
    """The one line and exit code for an error the user caused, else None (a programmer error)."""
    if isinstance(error, ValidationError):
        if error.title != Settings.__name__:
            return None
        return "configuration: " + _settings_problems(error), EXIT_USAGE
    for kinds, prefix, code in KNOWN:
        if isinstance(error, kinds):
            cause = error.orig if isinstance(error, DBAPIError) else error
            line = prefix + _first_line(cause)
            if isinstance(error, Refusal) and error.code not in line:
                line += f" ({error.code})"
            return line, code
    return None


def _settings_problems(error: ValidationError) -> str:
    """``MSC_HTTP_PORT: Input should be a valid integer`` per field, ``; `` between them."""
    problems = []
    for item in error.errors(include_url=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        fields = [str(part) for part in item["loc"]]
        names = ", ".join("MSC_" + name.upper() for name in fields)
        problems.append(f"{names}: {message}" if names else message)
    return "; ".join(problems)


def _first_line(error: object) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
