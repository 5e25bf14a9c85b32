"""The verifier over governance log entries: an executed officer change counts only with the
threshold of the set in force over exactly its bytes, before its expiry, with the next nonce;
every tampering is named."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from settlement.audit import bundle as b
from settlement.audit import governance_log as g
from settlement.audit.cli import main
from settlement.audit.proposal import Proposal, sign
from tests.unit.audit import builder

JANUARY = "2025-01"
START, END = b.period_range_us(JANUARY)
OLD = builder.keys(3)
NEW_KEY = builder.keys(1, seed=90)[0]


def named(keys: list[Any]) -> g.Named:
    return tuple((f"officer-{i}", bytes(k.verify_key).hex()) for i, k in enumerate(keys))


def entries(signers: int = 2) -> list[dict[str, Any]]:
    """Genesis of OLD (2 of 3), then officer-2's key rotated to NEW_KEY by ``signers``."""
    old = bytes(OLD[2].verify_key).hex()
    params = {"public_key": old, "new_public_key": bytes(NEW_KEY.verify_key).hex()}
    proposal = Proposal(g.ROTATE_KEY, "madiun-test", 0, START + 10**9, params)
    after, threshold = g.named_change(named(OLD), 2, g.ROTATE_KEY, params)
    signatures = [sign(proposal, key).as_json() for key in OLD[:signers]]
    return [
        {"at_us": START + 1, "kind": g.GENESIS, "seq": 1, **g.officers_json(named(OLD), 2)},
        {"at_us": START + 2, "id": proposal.id(), "kind": g.CREATED, "proposal": proposal.body(),
         "seq": 2},
        {"at_us": START + 3, "id": proposal.id(), "kind": g.EXECUTED,
         "officers": g.officers_json(after, threshold), "proposal": proposal.body(), "seq": 3,
         "signatures": signatures},
    ]  # fmt: skip


def verify(tmp_path: Path, governance: list[dict[str, Any]], capsys: Any) -> tuple[int, str]:
    bundle = tmp_path / "bundle"
    builder.build(bundle, JANUARY, [OLD[0], OLD[1], NEW_KEY], 2, governance=governance)
    pinned = builder.officers_file(tmp_path / "pinned.json", OLD, 2)
    code = main(["verify", str(bundle), "--officers", str(pinned)])
    return code, capsys.readouterr().out.strip().splitlines()[-1]


def test_a_key_rotation_signed_by_2_of_3_is_followed(tmp_path: Path, capsys: Any) -> None:
    assert verify(tmp_path, entries(), capsys) == (0, "bundle verified")


def _executed(edit: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    found = copy.deepcopy(entries())
    edit(found[2])
    return found


def _other_bytes(entry: dict[str, Any]) -> None:
    other = Proposal(g.THRESHOLD, "madiun-test", 0, START + 10**9, {"threshold": 1})
    entry["signatures"] = [sign(other, key).as_json() for key in OLD[:2]]


@pytest.mark.parametrize(
    ("forged", "failure"),
    [
        (entries(signers=1), "FAIL officers: governance line 3: 1 valid signatures"),
        (_executed(_other_bytes), "FAIL officers: governance line 3: 0 valid signatures"),
        (_executed(lambda e: e.update(at_us=START + 10**9 + 1)),
         "FAIL officers: governance line 3: executed after the proposal expired"),
        (_executed(lambda e: e.update(at_us=END + 1)),
         "FAIL officers: governance line 3 is not dated in 2025-01"),
        (_executed(lambda e: e["officers"].update(threshold=1)),
         "FAIL officers: governance line 3: the stated officers are not what it makes"),
        (_executed(lambda e: e.update(id="ab" * 32)),
         "FAIL governance: line 3: id is not the proposal's"),
        (_executed(lambda e: e.update(seq=4)), "FAIL governance: line 3: seq or time out of order"),
        (_executed(lambda e: e.update(signatures=[e["signatures"][0]] * 2)),
         "FAIL officers: governance line 3: 1 valid signatures"),
    ],
)  # fmt: skip
def test_a_tampered_execution_is_named(
    tmp_path: Path,
    capsys: Any,
    forged: list[dict[str, Any]],
    failure: str,
) -> None:
    code, last = verify(tmp_path, forged, capsys)
    assert code == 1
    assert last.startswith(failure), last


def test_a_genesis_that_is_not_the_pinned_set_fails(tmp_path: Path, capsys: Any) -> None:
    forged = entries()
    forged[0]["threshold"] = 1
    code, last = verify(tmp_path, forged, capsys)
    assert (code, last) == (1, "FAIL officers: governance line 1: genesis is not the set in force")


def test_executed_nonces_must_be_consecutive() -> None:
    first = entries()
    second = copy.deepcopy(first[2]) | {"seq": 4, "at_us": START + 4}
    second["proposal"]["nonce"] = 2
    second["id"] = Proposal(**second["proposal"]).id()
    values = [*first, second]
    with pytest.raises(b.BundleError, match="executed nonces are not consecutive"):
        g.check_order([g.read_entry(v, n) for n, v in enumerate(values, 1)])


def test_a_first_month_whose_log_does_not_start_at_1_fails(tmp_path: Path, capsys: Any) -> None:
    code, last = verify(tmp_path, entries()[1:], capsys)
    assert (code, last) == (1, "FAIL governance: the log starts at seq 2, not 1: entries missing")


def _february(
    tmp_path: Path,
    january: Path,
    balances: list[b.BalanceLeaf],
    **more: Any,
) -> Path:
    second = tmp_path / "february"
    keys = [OLD[0], OLD[1], NEW_KEY]
    builder.build(second, "2025-02", keys, 2, prior=balances, previous=builder.link(january),
                  **more)  # fmt: skip
    return second


def _later(seq: int, nonce: int) -> dict[str, Any]:
    start, _ = b.period_range_us("2025-02")
    proposal = Proposal("period.close", "madiun-test", nonce, start + 10**9, {"period": "2025-01"})
    return {"at_us": start + seq, "id": proposal.id(), "kind": g.CREATED,
            "proposal": proposal.body(), "seq": seq}  # fmt: skip


def test_the_next_month_continues_the_log_without_a_gap(tmp_path: Path, capsys: Any) -> None:
    january = tmp_path / "january"
    balances = builder.build(january, JANUARY, [OLD[0], OLD[1], NEW_KEY], 2, governance=entries())
    follows = _february(tmp_path / "a", january, balances, governance=[_later(4, 1)],
                        seq_before=3)  # fmt: skip
    assert main(["verify", str(follows), "--previous", str(january)]) == 0
    assert "ok governance_link: seq 4..4 continue the previous month's log" in (
        capsys.readouterr().out
    )
    gap = _february(tmp_path / "b", january, balances, governance=[_later(5, 1)], seq_before=3)
    assert main(["verify", str(gap), "--previous", str(january)]) == 1
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith("FAIL governance: the log starts at seq 5, not 4: entries missing")
    )
    dropped = _february(tmp_path / "c", january, balances)
    assert main(["verify", str(dropped), "--previous", str(january)]) == 1
    assert "FAIL governance: seq_after None, the month before 3" in capsys.readouterr().out
