"""Each ledger offers every ``LedgerProtocol`` method, callable as the Protocol promises.

mypy checks ``Ledger`` against the Protocol where the unit of work is built; this test holds
both ledgers to it at run time (mypy is not run over the tests).
"""

from __future__ import annotations

import inspect

import pytest

from escrow.ledger import Ledger
from escrow.memory import MemoryLedger
from escrow.ports import LedgerProtocol

METHODS = sorted(
    name
    for name, member in vars(LedgerProtocol).items()
    if callable(member) and not name.startswith("_")
)


def incompatibilities(implementation: type, name: str) -> list[str]:
    """How ``implementation.name`` cannot be called the way the Protocol's method can."""
    promised = list(inspect.signature(getattr(LedgerProtocol, name)).parameters.values())[1:]
    method = getattr(implementation, name, None)
    if method is None:
        return [f"{name} is missing"]
    offered = dict(list(inspect.signature(method).parameters.items())[1:])
    found = []
    for parameter in promised:
        other = offered.pop(parameter.name, None)
        if other is None:
            found.append(f"{name}: no parameter {parameter.name}")
        elif (
            parameter.default is not inspect.Parameter.empty and other.default != parameter.default
        ):
            found.append(f"{name}: {parameter.name} defaults differ")
    found.extend(
        f"{name}: extra parameter {extra} without a default"
        for extra, parameter in offered.items()
        if parameter.default is inspect.Parameter.empty
    )
    return found


def test_the_protocol_names_the_use_cases_methods() -> None:
    assert {"ensure_account", "account", "post", "post_batch", "balance"} <= set(METHODS)


@pytest.mark.parametrize("implementation", [Ledger, MemoryLedger])
def test_each_ledger_satisfies_the_protocol(implementation: type) -> None:
    assert [found for name in METHODS for found in incompatibilities(implementation, name)] == []


def test_the_check_sees_a_ledger_that_drifted() -> None:
    class Drifted:
        def post(self, request: object, strict: bool) -> None: ...

        def balance(self, account_code: str) -> None: ...

    assert incompatibilities(Drifted, "post") == ["post: extra parameter strict without a default"]
    assert incompatibilities(Drifted, "balance") == [
        "balance: no parameter code",
        "balance: extra parameter account_code without a default",
    ]
    assert incompatibilities(Drifted, "trial_balance") == ["trial_balance is missing"]
