"""QRIS use cases run on the unit of work they are given: its ledger, its clock, nothing else."""

import re
import uuid
from pathlib import Path
from typing import cast

from sqlalchemy import Connection

from escrow.clock import FixedClock
from escrow.memory import MemoryLedger
from settlement import chart
from settlement.qris.accounts import CLEARING_ACCOUNT, MDR_EXPENSE_ACCOUNT, ensure_rail_accounts
from settlement.qris.posting import Receipt, post_receipts, receipt_transfer_id
from settlement.unit_of_work import Outbox, UnitOfWork

ROOT = Path(__file__).resolve().parents[3]
QRIS_CODE = [
    *sorted((ROOT / "settlement" / "qris").glob("*.py")),
    ROOT / "api" / "routers" / "qris.py",
    ROOT / "settlement" / "cli" / "qris.py",
]
FORBIDDEN = {
    r"\bLedger\(": "a use case takes the unit of work's ledger",
    r"datetime\.now\(|time\.time\(": "the time comes from the unit of work's clock",
    r"engine\.(begin|connect)\(|in_transaction\b": "units of work open through run/unit_of_work",
    r"driver_connection": "only settlement/qris/driver.py reaches under SQLAlchemy",
}


def test_qris_code_builds_no_ledger_reads_no_system_time_opens_no_raw_transaction() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {why}"
        for path in QRIS_CODE
        for n, line in enumerate(path.read_text().splitlines(), 1)
        for pattern, why in FORBIDDEN.items()
        if re.search(pattern, line) and not (path.name == "driver.py" and "driver" in pattern)
    ]
    assert found == []


def test_a_receipt_posts_on_the_memory_ledger_of_its_unit_of_work() -> None:
    clock = FixedClock(1_733_100_000_000_000)
    ledger = MemoryLedger(clock, policy=chart.CHART)
    no_database = cast(Connection, None)  # a receipt the ledger accepts touches no table
    uow = UnitOfWork(no_database, ledger, Outbox(no_database), clock)
    ensure_rail_accounts(ledger)
    merchant = chart.open_account(ledger, chart.merchant_idr("ID1020000000001")).code
    expectation_id = uuid.uuid4()

    receipt = Receipt(expectation_id, merchant, 1_500_000, 10_500, "000000000001", "event")
    assert post_receipts(uow, [receipt]) == 2
    assert post_receipts(uow, [receipt]) == 0  # the same receipt again: exists, nothing new

    assert ledger.balance(merchant).posted == 1_500_000
    assert ledger.account(CLEARING_ACCOUNT).debits_posted == 1_489_500
    assert ledger.account(MDR_EXPENSE_ACCOUNT).debits_posted == 10_500
    stored = ledger.transfer(receipt_transfer_id(expectation_id))
    assert stored is not None
    assert stored.external_ref == "000000000001"
