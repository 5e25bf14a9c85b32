"""Scripts a newcomer runs directly: benches find the project's virtualenv themselves, and a
single test file runs with plain ``pytest PATH`` (no pytest-xdist)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHES = sorted(
    path.name
    for path in (ROOT / "scripts" / "bench").iterdir()
    if path.is_file() and path.read_text().startswith("#!")
)
BASE_PYTHON = Path(sys.base_prefix) / "bin" / "python3"
script_timeout_s = 120


@pytest.mark.parametrize("bench", BENCHES)
def test_bench_run_with_plain_python_reexecutes_under_the_project_venv(
    tmp_path: Path, bench: str
) -> None:
    """A copy of the project whose ``.venv`` is this test's virtualenv; the bench is started
    with the base interpreter, which has none of the project's packages."""
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    (tmp_path / ".venv").symlink_to(sys.prefix)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [str(BASE_PYTHON), str(tmp_path / "scripts" / "bench" / bench), "--help"],
        env=env, capture_output=True, text=True, timeout=script_timeout_s, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()


LOAD_BENCH_LIMITS = {
    "checkout": ("--checkouts", "--seconds", "--workers"),
    "api": ("--rate", "--seconds", "--requests-max", "--timeout"),
}
"""The benches that load the service, and the limits that bound them in count and time."""


@pytest.mark.parametrize(("bench", "limits"), sorted(LOAD_BENCH_LIMITS.items()))
def test_a_load_bench_help_runs_and_names_its_limits(bench: str, limits: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench" / bench), "--help"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=script_timeout_s, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.lower().startswith("usage")
    assert [limit for limit in limits if limit not in result.stdout] == []


def test_bench_without_a_project_venv_says_so_in_one_line(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    result = subprocess.run(
        [str(BASE_PYTHON), str(tmp_path / "scripts" / "bench" / BENCHES[0]), "--help"],
        capture_output=True, text=True, timeout=script_timeout_s, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert (
        result.stderr == f"no virtualenv at {tmp_path / '.venv'}: scripts/test creates it"
        " (or run with a venv's python)\n"
    )


def test_a_test_file_runs_with_plain_pytest_without_xdist() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider",
         "--setup-plan", "-q", "tests/integration/test_ledger_cli.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=script_timeout_s, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
    assert "worker_id" in result.stdout
