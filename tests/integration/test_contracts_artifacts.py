"""The committed ABI/bytecode artifacts are exactly what the pinned toolchain builds."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from chain.evm.abi import ARTIFACTS_DIR
from chain.evm.anvil import PROJECT_ROOT

pytestmark = pytest.mark.integration

BUILD = PROJECT_ROOT / "scripts" / "build-contracts"
PINNED_SOLC = "0.8.28"


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js/npm not installed: cannot recompile the contracts")
    out = tmp_path_factory.mktemp("artifacts")
    subprocess.run([str(BUILD), "--out", str(out)], check=True, capture_output=True)
    return out


def test_rebuild_matches_committed_artifacts_byte_for_byte(rebuilt: Path) -> None:
    committed = sorted(p.name for p in ARTIFACTS_DIR.glob("*.json"))
    built = sorted(p.name for p in rebuilt.glob("*.json"))
    assert built == committed == ["AuditAnchor.json", "MadiunStableCoin.json"]
    for name in built:
        assert (rebuilt / name).read_bytes() == (ARTIFACTS_DIR / name).read_bytes(), (
            f"{name} differs: run scripts/build-contracts and commit contracts/artifacts"
        )


def test_artifacts_record_the_pinned_compiler_and_optimizer() -> None:
    package = json.loads((PROJECT_ROOT / "contracts" / "package.json").read_text())
    assert package["dependencies"]["solc"] == PINNED_SOLC
    for path in ARTIFACTS_DIR.glob("*.json"):
        compiler = json.loads(path.read_text())["compiler"]
        assert compiler["version"].startswith(PINNED_SOLC + "+commit.")
        assert compiler["settings"]["optimizer"] == {"enabled": True, "runs": 200}
        assert compiler["settings"]["evmVersion"] == "cancun"
