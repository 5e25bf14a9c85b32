"""The wallet watch asks for a page too large to read again in halves, down to one record."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from chain.pi import errors
from chain.pi.horizon import PaymentsPage
from settlement.pi import watch


class LargeTransactions:
    """Horizon whose answers exceed the transport's limit above ``readable`` records."""

    def __init__(self, readable: int) -> None:
        self.readable = readable
        self.asked: list[int] = []

    def payments_for_account(self, address: str, cursor: str, limit: int) -> PaymentsPage:
        self.asked.append(limit)
        if limit > self.readable:
            raise errors.PiResponseError("response larger than 1048576 bytes")
        return PaymentsPage(records=())


def deps_with(chain: LargeTransactions) -> Any:
    return cast(Any, SimpleNamespace(chain=chain))


def test_a_page_too_large_is_asked_for_in_halves() -> None:
    chain = LargeTransactions(readable=10)
    assert watch._page(deps_with(chain), "GAPP", "") == PaymentsPage(records=())
    assert chain.asked == [50, 25, 12, 6]


def test_a_single_record_too_large_is_a_bad_response() -> None:
    chain = LargeTransactions(readable=0)
    with pytest.raises(errors.PiResponseError):
        watch._page(deps_with(chain), "GAPP", "")
    assert chain.asked[-1] == 1
