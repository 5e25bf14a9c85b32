"""Wiring: the one place that builds concrete adapters and hands them to the use cases."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from settlement.config import Settings
from settlement.db import make_engine
from settlement.outbox import Dispatcher, RetryPolicy


@dataclass
class Container:
    """Everything a request or a worker needs, built once at start."""

    settings: Settings
    database_url: str
    engine: Engine
    dispatcher: Dispatcher
    extras: dict[str, object] = field(default_factory=dict)


def build_container(settings: Settings, database_url: str) -> Container:
    """Build the engine, the outbox dispatcher and the rails' adapters from configuration."""
    engine = make_engine(database_url)
    policy = RetryPolicy(
        attempts_max=settings.outbox_attempts_max,
        backoff_base_s=settings.outbox_backoff_base_s,
        backoff_cap_s=settings.outbox_backoff_cap_s,
    )
    dispatcher = Dispatcher(engine, {}, policy)
    return Container(settings, database_url, engine, dispatcher)
