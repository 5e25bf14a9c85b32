"""The one option style of ``msc``: every command renders its result with ``--output json|text``,
and every command that moves money names who runs it with ``--by`` (decision 0016), except the
governed actions, which a signed proposal does (``msc treasury``, decision 0030)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import structlog
import typer

from escrow.money import IDR, parse_amount
from escrow.refusals import Refusal
from settlement.audit.export import SOFTWARE

log = structlog.get_logger(__name__)


class Output(StrEnum):
    """How a command prints its result on stdout."""

    JSON = "json"
    """One JSON document (sorted keys, indented): for scripts."""
    TEXT = "text"
    """Lines for a person: a sentence, or one ``key  value`` line per field."""


OutputOption = Annotated[
    Output,
    typer.Option("--output", "-o", help="Print the result as json or text.", case_sensitive=False),
]


EXIT_REFUSED = 1
"""The exit status of a command whose use case refused (the refusal is one line on stderr)."""
by_chars_max = 60
"""``cli:<by>`` fits the 64 characters of a recorded actor."""


def cli_actor(by: str) -> str:
    """The actor a command records for ``--by``: ``cli:<by>``."""
    if len(by) > by_chars_max:
        raise typer.BadParameter(f"at most {by_chars_max} characters", param_hint="--by")
    return f"cli:{by}"


def sen_option(text: str, hint: str) -> int:
    """A Rupiah or MSC option's decimal text (``"15000.00"``) in sen, exactly; else a usage
    error naming the option ``hint``."""
    try:
        return parse_amount(text, IDR.scale)  # MSC has the same scale: Rp 1 = 1 MSC
    except Refusal as refused:
        raise typer.BadParameter(f"{refused.detail} ({refused.code})", param_hint=hint) from None


def _named(by: str) -> str:
    if not by.strip():
        raise typer.BadParameter("say who runs the command", param_hint="--by")
    return by


ByOption = Annotated[
    str,
    typer.Option(
        "--by", help="Who runs this money-moving command (recorded and logged).", callback=_named
    ),
]

MONEY_MOVING_COMMANDS = frozenset(
    {
        "pi expect",
        "pi deposit",
        "pi recover",
        "pi payout",
        "pi decide",
        "qris expect",
        "qris reconcile",
        "qris decide",
        "chain deploy",
        "chain attest",
        "chain scan-deposits",
        "msc deposit",
        "msc issue",
        "msc redeem",
        "msc withdraw",
        "fund contribute",
        "outbox requeue",
        "audit anchor",
        "checkout create",
        "checkout handover",
        "merchant add",
        "merchant suspend",
        "merchant reactivate",
        "merchant key",
        "key create",
        "key revoke",
        "campaign add",
        "points fund",
        "points dividend",
        "points bonus",
        "points expire",
        "conversion tier",
        "payout cut",
        "payout confirm",
        "payout details",
        "payout refund-account",
    }
)
"""Commands that create, post, void or send money, or grant or withdraw the right to (mint,
be paid as a merchant, hold an API key): each takes a required ``--by``. The CLI contract test
checks every one of them."""
SERVICE_COMMANDS = frozenset({"serve", "worker", "beat", "chain node", "demo"})
"""Long-running processes: they print no result (their logs are JSON lines), so no ``--output``;
and ``msc demo``, which prints its story for a person (and may keep serving)."""


def emit(result: object, output: Output, text: Callable[[Any], str] | None = None) -> None:
    """Print ``result`` (JSON-compatible data) as ``output``; ``text`` renders it for a person
    when a sentence says it better than the fields."""
    if output is Output.JSON:
        typer.echo(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False, default=str))
    else:
        typer.echo(text(result) if text is not None else render_text(result))


def render_text(result: object) -> str:
    """``key  value`` lines for a mapping, blank-line separated blocks for a list."""
    if isinstance(result, Mapping):
        if not result:
            return "(nothing)"
        width = max(len(str(key)) for key in result)
        return "\n".join(f"{key!s:<{width}}  {_scalar(value)}" for key, value in result.items())
    if isinstance(result, list | tuple):
        return "\n\n".join(render_text(item) for item in result) if result else "(none)"
    return _scalar(result)


def _scalar(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple | bool | int):
        return json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    return str(value)


def record_operator(command: str, by: str) -> None:
    """Log who ran a money-moving command (commands whose use case records ``by`` also store it)."""
    log.info("operator_command", command=command, by=by)


def package_version() -> str:
    """The installed version of msc-settlement ("unknown" when run from an uninstalled tree)."""
    try:
        return version(SOFTWARE)
    except PackageNotFoundError:
        return "unknown"
