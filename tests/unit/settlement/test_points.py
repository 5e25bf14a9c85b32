"""Funding the points budget (settlement/points.py) on the memory ledger: one transfer per key,
points only from what the treasury authorised, and a budget that never goes below zero."""

from __future__ import annotations

import uuid
from typing import cast

import pytest
from sqlalchemy import Connection

from escrow.clock import FixedClock
from escrow.memory import MemoryLedger
from escrow.model import ResultCode, TransferRequest
from escrow.money import AmountRefused
from settlement import chart
from settlement.chart import TransferCode
from settlement.points import FundingRefused, fund_budget, funding_id
from settlement.unit_of_work import Outbox, UnitOfWork

BUDGET = chart.mscp_budget().code
AUTHORISED = chart.mscp_authorised().code


def _uow() -> tuple[UnitOfWork, MemoryLedger]:
    clock = FixedClock(1_780_000_000_000_000)
    ledger = MemoryLedger(clock, policy=chart.CHART)
    no_database = cast(Connection, None)  # funding touches the ledger only
    return UnitOfWork(no_database, ledger, Outbox(no_database), clock), ledger


def test_funding_moves_authorised_points_into_the_budget() -> None:
    uow, ledger = _uow()
    funded = fund_budget(uow, 10_000, by="treasury:ana", key="2026-06")
    assert funded == funding_id("2026-06")
    assert ledger.balance(BUDGET).posted == 10_000
    assert ledger.account(AUTHORISED).debits_posted == 10_000
    stored = ledger.transfer(funded)
    assert stored is not None
    assert (stored.code, stored.debit, stored.credit) == ("points.funded", AUTHORISED, BUDGET)
    assert stored.user_data == {"by": "treasury:ana", "key": "2026-06"}


def test_the_same_key_funds_once() -> None:
    uow, ledger = _uow()
    first = fund_budget(uow, 500, by="ops", key="k1")
    assert fund_budget(uow, 500, by="ops", key="k1") == first
    assert ledger.balance(BUDGET).posted == 500
    fund_budget(uow, 700, by="ops", key="k2")
    assert ledger.balance(BUDGET).posted == 1_200


def test_a_key_reused_for_another_amount_is_refused_and_nothing_moves() -> None:
    uow, ledger = _uow()
    fund_budget(uow, 500, by="ops", key="k1")
    with pytest.raises(FundingRefused) as refused:
        fund_budget(uow, 501, by="ops", key="k1")
    assert refused.value.code == ResultCode.EXISTS_WITH_DIFFERENT_FIELDS
    assert ledger.balance(BUDGET).posted == 500


@pytest.mark.parametrize("units", [0, -1, True, 2**63])
def test_only_a_positive_number_of_points_is_funded(units: int) -> None:
    uow, ledger = _uow()
    with pytest.raises(AmountRefused):
        fund_budget(uow, units, by="ops", key="k")
    assert ledger.transfers() == []


def test_the_budget_never_issues_more_than_it_was_funded() -> None:
    uow, ledger = _uow()
    fund_budget(uow, 100, by="ops", key="k")
    pioneer = chart.open_account(ledger, chart.pioneer_balance("uid1", "MSCP")).code
    cashback = TransferRequest(
        uuid.uuid4(), BUDGET, pioneer, 101, "MSCP", TransferCode.CHECKOUT_CASHBACK
    )
    assert ledger.post(cashback).code == ResultCode.EXCEEDS_CREDITS
    assert ledger.post(TransferRequest(
        uuid.uuid4(), BUDGET, pioneer, 100, "MSCP", TransferCode.CHECKOUT_CASHBACK
    )).ok  # fmt: skip
    assert ledger.balance(BUDGET).posted == 0
