"""web3 (through py_ecc) raises the recursion limit to 100000; bootstrap puts it back."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import json, sys
import web3
assert sys.getrecursionlimit() >= 100000, sys.getrecursionlimit()
from settlement.bootstrap import restore_recursion_limit
restore_recursion_limit()
try:
    json.loads("[" * 100000 + "]" * 100000)
except RecursionError:
    print("refused", sys.getrecursionlimit())
"""


def test_deep_json_raises_instead_of_overflowing_the_c_stack() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert probe.returncode == 0, f"exit {probe.returncode} (-11 is SIGSEGV): {probe.stderr}"
    assert probe.stdout.split() == ["refused", "1000"]
