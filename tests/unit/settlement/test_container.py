"""The container is built complete and never changed (decision 0015)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from settlement.bootstrap import Container, EvmSenderOnFirstUse, assemble_container
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
