"""The embedded PostgreSQL forgets processes that died without leaving, so it still stops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from settlement.embedded import _forget_dead_handles


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
