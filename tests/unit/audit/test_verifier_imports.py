"""The verifier runs with the standard library and PyNaCl alone (an auditor installs only that)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.unit.audit import builder

VERIFIER_MODULES = (
    "settlement.audit.canonical",
    "settlement.audit.merkle",
    "settlement.audit.bundle",
    "settlement.audit.proposal",
    "settlement.audit.governance_log",
    "settlement.audit.verify",
    "settlement.audit.cli",
    "settlement.audit.consistency",
    "settlement.audit.note",
    "settlement.audit.checkpoint",
    "settlement.audit.log_verify",
    "settlement.audit.log_cli",
    "settlement.audit.witness",
    "settlement.audit.witness_server",
    "settlement.audit.parts",
    "settlement.audit.transfer_proof",
)
PROBE = textwrap.dedent(
    """
    import importlib, sys

    ALLOWED_THIRD_PARTY = {"nacl", "_cffi_backend"}
    ALLOWED_OURS = {"settlement", "settlement.audit", *VERIFIER_MODULES}

    class Block:
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
                return None
            if name in ALLOWED_OURS:
                return None
            raise ImportError(f"the verifier imported {name}")

    sys.meta_path.insert(0, Block())
    for module in sys.argv[2:]:
        importlib.import_module(module)
    if sys.argv[1] != "-":
        from settlement.audit.cli import main
        sys.exit(main(["verify", sys.argv[1], "--trust-bundle-officers"]))
    """
).replace("VERIFIER_MODULES", repr(VERIFIER_MODULES))


def probe(bundle: str, *modules: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, bundle, *modules],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_verifier_modules_import_only_stdlib_and_pynacl(tmp_path: Path) -> None:
    builder.build(tmp_path / "b", "2025-03", builder.keys(2), threshold=2)
    done = probe(str(tmp_path / "b"), *VERIFIER_MODULES)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "bundle verified" in done.stdout


def test_offline_signing_imports_only_stdlib_and_pynacl() -> None:
    """`msc treasury sign` signs from the proposal file alone: no service module is loaded."""
    done = probe("-", "settlement.audit.proposal")
    assert done.returncode == 0, done.stderr


def test_the_probe_blocks_everything_else() -> None:
    for module in ("sqlalchemy", "settlement.audit.export", "escrow"):
        done = probe("-", module)
        assert done.returncode != 0
        assert f"the verifier imported {module}" in done.stderr
