"""Node rejection messages map to the typed errors the sender handles."""

from __future__ import annotations

import pytest

from chain.evm.errors import (
    InsufficientFundsError,
    NonceTooLowError,
    RpcRejectedError,
    UnderpricedError,
    classify_rejection,
    is_already_known,
)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("nonce too low", NonceTooLowError),
        ("Nonce too low: next nonce 5, tx nonce 4", NonceTooLowError),
        ("replacement transaction underpriced", UnderpricedError),
        ("transaction underpriced", UnderpricedError),
        ("max fee per gas less than block base fee", UnderpricedError),
        ("insufficient funds for gas * price + value", InsufficientFundsError),
        ("something else entirely", RpcRejectedError),
    ],
)
def test_rejections_are_classified(message: str, expected: type[RpcRejectedError]) -> None:
    assert classify_rejection(message) is expected


@pytest.mark.parametrize(
    ("message", "known"),
    [("already known", True), ("transaction already imported", True), ("nonce too low", False)],
)
def test_already_known_is_recognised(message: str, known: bool) -> None:
    assert is_already_known(message) is known
