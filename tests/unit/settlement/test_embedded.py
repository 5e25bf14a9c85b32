"""The embedded PostgreSQL forgets processes that died without leaving, so it still stops, and
runs with a private runtime directory whatever the environment offers."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from settlement.embedded import _ensure_private_runtime_dir, _forget_dead_handles


def test_dead_process_ids_are_dropped_and_live_ones_kept(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(finished.stdout)
    handles = tmp_path / ".handle_pids.json"
    handles.write_text(json.dumps([dead, os.getpid()]))
    _forget_dead_handles(handles)
    assert json.loads(handles.read_text()) == [os.getpid()]


def test_a_missing_or_garbled_handle_file_is_harmless(tmp_path: Path) -> None:
    handles = tmp_path / ".handle_pids.json"
    _forget_dead_handles(handles)
    assert not handles.exists()
    handles.write_text("not json")
    _forget_dead_handles(handles)
    assert json.loads(handles.read_text()) == []


@pytest.mark.parametrize("given", [None, "missing", "shared"])
def test_an_unset_missing_or_shared_runtime_dir_is_replaced_by_a_private_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str | None
) -> None:
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    if given is None:
        monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    else:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / given))
    _ensure_private_runtime_dir()
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    assert runtime == tmp_path / f"msc-runtime-{os.getuid()}"
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700


def test_a_private_runtime_dir_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private = tmp_path / "mine"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(private))
    _ensure_private_runtime_dir()
    assert os.environ["XDG_RUNTIME_DIR"] == str(private)
