"""Two issuances at once: each alone keeps coverage above the floor, both together would not.
The second waits for the first (the issuers' lock, and the shared accounts' row locks), sees its
MSC, and is refused (a module database of its own: it commits)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date

import pytest
from sqlalchemy import Engine

from chain.rates.ports import PriceObservation
from escrow.clock import SystemClock
from escrow.model import TransferRequest
from settlement import chart, parameters
from settlement.chart import TransferCode
from settlement.reserves.issuance import BankDeposit, issue, record_bank_deposit
from settlement.reserves.reserve import CoverageBelowFloor, read_figures
from settlement.unit_of_work import bind, run

pytestmark = pytest.mark.integration
PI = 10**7
blocked_wait_s = 0.5


def test_the_second_of_two_concurrent_issuances_sees_the_first_and_is_refused(
    module_engine: Engine,
) -> None:
    clock = SystemClock()
    with module_engine.begin() as conn:
        uow = bind(conn, clock)
        parameters.set_(uow, parameters.RESERVE_FLOOR_BPS, 10_500, by="t")
        parameters.set_(uow, parameters.RESERVE_HAIRCUT_BPS, 10_000, by="t")
        for spec in (chart.pi_custody(), chart.pi_capital()):
            chart.open_account(uow.ledger, spec)
        capital = TransferRequest(
            uuid.uuid4(), chart.pi_custody().code, chart.pi_capital().code, PI, "PI",
            TransferCode.PI_CUSTODY_DEPOSIT,
        )  # fmt: skip
        assert uow.ledger.post(capital).ok
        for reference in ("C-1", "C-2"):  # 1 Pi at Rp 700 is 7% of one deposit, 3.5% of two
            wanted = BankDeposit(reference, 1_000_000, "pioneer:c:MSC", date(2026, 12, 1))
            record_bank_deposit(uow, wanted, by="t")
    price = PriceObservation("PI", "IDR", 70_000, clock.now_us(), "test")
    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            run(module_engine, clock, lambda uow: issue(uow, "C-2", "t", price))
            outcome.append(None)
        except CoverageBelowFloor as refused:
            outcome.append(refused)

    with module_engine.connect() as first:
        transaction = first.begin()
        issue(bind(first, clock), "C-1", "t", price)
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(blocked_wait_s)
        assert racer.is_alive(), "the second issuer waits for the first"
        transaction.commit()
    racer.join(timeout=30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], CoverageBelowFloor)
    with module_engine.connect() as conn:
        figures = read_figures(conn)
    assert (figures.msc_ledger, figures.idr_deposits_unissued) == (1_000_000, 1_000_000)
