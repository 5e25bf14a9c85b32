"""The container is built complete and never changed (decision 0015)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from escrow.clock import FixedClock, SystemClock
from settlement.bootstrap import (
    Container,
    EvmSenderOnFirstUse,
    assemble_container,
    build_container,
)
from settlement.config import Settings
from settlement.outbox import Dispatcher


def _container(tmp_path: Path) -> Container:
    engine = create_engine("sqlite://")
    return assemble_container(Settings(data_dir=tmp_path), "unused", engine, Dispatcher(engine, {}))


def test_the_container_refuses_changes(tmp_path: Path) -> None:
    container = _container(tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        container.pi = None  # type: ignore[misc]
    assert container.jobs == ()


def test_replace_builds_a_new_container_sharing_the_one_evm_sender(tmp_path: Path) -> None:
    container = _container(tmp_path)
    changed = dataclasses.replace(container, jobs=(lambda: None,))
    assert isinstance(container.evm, EvmSenderOnFirstUse)
    assert changed.evm is container.evm
    assert container.jobs == ()
    assert len(changed.jobs) == 1


def test_build_container_runs_requests_and_the_pi_rail_on_the_clock_given(tmp_path: Path) -> None:
    clock = FixedClock(1_700_000_000_000_000)
    settings = Settings(data_dir=tmp_path, pi_sandbox=True)
    built = build_container(settings, "postgresql://unused@127.0.0.1:1/none", clock)
    plain = build_container(settings, "postgresql://unused@127.0.0.1:1/none")
    try:
        assert built.clock is clock
        assert built.pi is not None
        assert built.pi.clock is clock
        assert isinstance(plain.clock, SystemClock)
    finally:
        built.engine.dispose()
        plain.engine.dispose()
