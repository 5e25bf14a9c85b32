"""The seeded fault simulator (settlement/simulation, decision 0036): a few hundred seeds of
faulty histories (checkouts, conversions, MSC withdrawals, locks, treasury proposals) hold every
invariant after every step and every effect exactly once at the end; a seed replays to the same
history; a deliberate bug is found and its seed replays.

A failing seed says its replay: ``msc-sim --seed N --steps K`` or
``pytest tests/simulation --sim-seed N [--sim-steps K]``.
"""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from settlement.simulation import cli
from settlement.simulation.engine import Simulation, simulate
from settlement.simulation.faults import Fault
from settlement.simulation.world import Bugs

SEEDS = 300
STEPS = 150
CHUNK = 25
"""Seeds per test item: small enough that xdist spreads them, large enough to cost little."""
BUG_SEEDS = 40


def _seeds(config: pytest.Config, chunk: int) -> list[int]:
    seed = config.getoption("--sim-seed")
    if seed is not None:
        return [seed] if chunk == 0 else []
    return list(range(chunk * CHUNK, (chunk + 1) * CHUNK))


def _steps(config: pytest.Config) -> int:
    steps = config.getoption("--sim-steps")
    return STEPS if steps is None else int(steps)


@pytest.mark.parametrize("chunk", range(SEEDS // CHUNK), ids=lambda c: f"seeds{c * CHUNK}")
def test_every_seed_holds(chunk: int, pytestconfig: pytest.Config) -> None:
    steps = _steps(pytestconfig)
    for seed in _seeds(pytestconfig, chunk):
        outcome = simulate(seed, steps)
        assert outcome.failure is None, (
            f"{outcome.failure}\nreplay: {outcome.replay}"
            f"  (or: pytest tests/simulation --sim-seed {seed} --sim-steps {steps})"
        )


def test_the_seeds_inject_every_kind_of_fault_and_accept_work() -> None:
    outcomes = [simulate(seed, STEPS) for seed in range(CHUNK)]
    injected = {kind for outcome in outcomes for kind in outcome.faults}
    assert injected == set(Fault)
    assert sum(o.accepted for o in outcomes) > 5 * CHUNK


def test_the_seeds_drive_conversions_withdrawals_locks_and_proposals() -> None:
    """Every outcome of the new kinds happens in the suite's seeds, not only their requests."""
    seen: set[str] = set()
    for seed in range(CHUNK):
        sim = Simulation(seed, STEPS)
        assert sim.run().failure is None
        seen |= {f"conversion {c.status}" for c in sim.db.conversions.values()}
        seen |= {f"lock {p.status}" for p in sim.db.positions.values()}
        seen |= {"penalty" for p in sim.db.positions.values() if p.penalty_units}
        seen |= {"minted" for w in sim.db.withdrawals.values() if w.minted}
        seen |= {"executed" for _ in sim.db.executed}
        seen |= {kind for kind, _ in sim.accepted}
    wanted = {"conversion converted", "conversion refunded", "lock matured", "lock unlocked",
              "penalty", "minted", "executed", "convert", "withdraw", "lock", "unlock",
              "propose", "sign", "execute"}  # fmt: skip
    assert wanted <= seen


def test_a_seed_replays_to_the_same_history() -> None:
    first, second = Simulation(7, STEPS), Simulation(7, STEPS)
    assert first.run() == second.run()
    assert [(t.id, t.amount, t.code) for t in first.db.ledger.transfers()] == [
        (t.id, t.amount, t.code) for t in second.db.ledger.transfers()
    ]
    assert first.rails == second.rails


def test_another_seed_is_another_history() -> None:
    assert Simulation(7, STEPS).run().faults != Simulation(8, STEPS).run().faults


@pytest.mark.parametrize("bug", [f.name for f in fields(Bugs)])
def test_a_deliberate_bug_is_found_and_its_seed_replays(
    bug: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bugs = Bugs(**{bug: True})
    found = next(
        (o for seed in range(BUG_SEEDS) if (o := simulate(seed, STEPS, bugs)).failure), None
    )
    assert found is not None, f"{bug} survived {BUG_SEEDS} seeds"
    assert found.replay == f"msc-sim --seed {found.seed} --steps {STEPS} --bug {bug}"
    replayed = cli.main(found.replay.split()[1:])
    printed = capsys.readouterr().out
    assert replayed == cli.EXIT_FAILED
    assert f"FAILED seed {found.seed}: {found.failure}" in printed
    assert found.replay in printed


def test_msc_sim_prints_one_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--seeds", "3", "--steps", "60", "--first", "5"]) == cli.EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert summary["seeds"] == 3
    assert summary["steps"] == 180
    assert summary["failures"] == 0
    assert summary["faults_total"] == sum(summary["faults"].values())


def test_msc_sim_stops_at_its_time_limit(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--seeds", "1000000", "--minutes", "0.0001", "--steps", "20"]) == 0
    assert json.loads(capsys.readouterr().out)["seeds"] < 1000000
