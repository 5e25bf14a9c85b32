"""``msc-sim``: run the fault simulator from the command line.

``msc-sim --seed N --steps K`` replays one seed's history (the line a failure prints);
``msc-sim --seeds N --minutes M`` runs seeds from ``--first`` on until N are run or M minutes
pass, and prints one JSON line: seeds run, steps, faults injected by kind, failures. Exit status
0 when every seed held, 1 when one failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import fields

from settlement.simulation.engine import Outcome, simulate
from settlement.simulation.world import Bugs

EXIT_OK = 0
EXIT_FAILED = 1
steps_default = 200
failures_shown_max = 10


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="msc-sim", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, help="replay this one seed")
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds to run")
    parser.add_argument("--first", type=int, default=0, help="the first seed of a long run")
    parser.add_argument("--minutes", type=float, default=0.0, help="stop after this long")
    parser.add_argument("--steps", type=int, default=steps_default, help="steps per seed")
    parser.add_argument(
        "--bug",
        action="append",
        default=[],
        choices=[f.name for f in fields(Bugs)],
        help=argparse.SUPPRESS,  # test-only: proves the simulator finds a deliberate bug
    )
    return parser


def _summary(outcomes: list[Outcome], elapsed_s: float) -> dict[str, object]:
    faults: Counter[str] = Counter()
    for outcome in outcomes:
        faults.update({str(kind): n for kind, n in outcome.faults.items()})
    failures = [o for o in outcomes if o.failure]
    return {
        "seeds": len(outcomes),
        "steps": sum(o.steps for o in outcomes),
        "faults": dict(sorted(faults.items())),
        "faults_total": sum(faults.values()),
        "accepted": sum(o.accepted for o in outcomes),
        "refused": sum(o.refused for o in outcomes),
        "failures": len(failures),
        "failed": [{"replay": o.replay, "failure": o.failure} for o in failures][
            :failures_shown_max
        ],
        "elapsed_s": round(elapsed_s, 2),
    }


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print, and say by the exit status whether every seed held."""
    args = _parser().parse_args(argv)
    bugs = Bugs(**{name: True for name in args.bug})
    started = time.monotonic()
    if args.seed is not None:
        outcome = simulate(args.seed, args.steps, bugs)
        if outcome.failure:
            _say(f"FAILED seed {args.seed}: {outcome.failure}\nreplay: {outcome.replay}")
            return EXIT_FAILED
        _say(json.dumps(_summary([outcome], time.monotonic() - started)))
        return EXIT_OK
    outcomes = []
    deadline = started + args.minutes * 60 if args.minutes > 0 else None
    for seed in range(args.first, args.first + args.seeds):
        if deadline is not None and time.monotonic() >= deadline:
            break
        outcomes.append(simulate(seed, args.steps, bugs))
    _say(json.dumps(_summary(outcomes, time.monotonic() - started)))
    return EXIT_FAILED if any(o.failure for o in outcomes) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
