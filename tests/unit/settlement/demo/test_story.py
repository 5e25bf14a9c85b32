"""The demo's ``Story``: steps play in order, each printing one line; the first failure prints
what failed, ends the story (no later step plays) and raises ``StepFailed``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.demo.play import story
from settlement.demo.story import Step, StepFailed, Story


def _steps(count: int, failing: int | None, played: list[int]) -> list[Step[list[int]]]:
    def act(index: int) -> Step[list[int]]:
        def run(world: list[int]) -> str:
            world.append(index)
            if index == failing:
                raise RuntimeError(f"step {index} broke")
            return f"did {index}"

        return Step(f"s{index}", run)

    return [act(i) for i in range(count)]


@given(count=st.integers(1, 12), data=st.data())
def test_steps_play_in_order_until_the_first_failure(count: int, data: st.DataObject) -> None:
    failing = data.draw(st.none() | st.integers(0, count - 1))
    played: list[int] = []
    lines: list[str] = []
    steps = Story(_steps(count, failing, played))
    if failing is None:
        steps.play(played, lines.append)
        assert played == list(range(count))
        assert [line.split()[0] for line in lines] == [f"s{i}" for i in range(count)]
        assert all(line.endswith(f"did {i}") for i, line in enumerate(lines))
        return
    with pytest.raises(StepFailed) as failed:
        steps.play(played, lines.append)
    assert played == list(range(failing + 1))  # nothing after the failing step
    assert lines[-1] == f"FAILED s{failing}: step {failing} broke"
    assert len(lines) == failing + 1
    assert (failed.value.step, failed.value.reason) == (f"s{failing}", f"step {failing} broke")


def test_a_failure_without_a_message_is_named_by_its_type() -> None:
    def silent(world: None) -> str:
        raise KeyError

    lines: list[str] = []
    with pytest.raises(StepFailed):
        Story([Step("quiet", silent)]).play(None, lines.append)
    assert lines == ["FAILED quiet: KeyError"]


def test_step_names_are_unique() -> None:
    def same(world: None) -> str:
        return ""

    with pytest.raises(ValueError, match="repeat"):
        Story([Step("a", same), Step("a", same)])


def test_the_demo_tells_the_pilot_in_order() -> None:
    names = [step.name for step in story().steps]
    assert names == [
        "contracts",
        "onboard", "officers", "terms", "payout-details",
        "checkout", "pay-pi", "pay-qris", "handover", "payout",
        "reserve-capital", "convert", "attest", "withdraw",
        "lock-terms", "lock", "accrue",
        "propose", "sign-close", "close",
        "export", "cosign", "sign", "anchor", "anchor-stellar", "verify", "published",
    ]  # fmt: skip
