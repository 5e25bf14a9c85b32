"""Every QRIS exception kind, from each source that can produce it, under one matching rule.

Each scenario is a set of expectations and the payments that meet them. It runs once through a
verified gateway notification (``apply_notification``) and once through an acquirer report
(ingest, then ``reconcile_day``); both must pay the same expectations, post the same amounts and
list the kinds stated for that source.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from chain.qris.gateways.event import EventStatus, QrisEvent
from chain.qris.reports import load_formats
from escrow.calendar import WIB
from escrow.errors import AccountNotFound
from escrow.ledger import Ledger
from settlement.qris.accounts import MDR_EXPENSE_ACCOUNT, merchant_account
from settlement.qris.exceptions import ACTIONS, list_exceptions
from settlement.qris.expectations import create_expectation
from settlement.qris.ingest import ingest_report
from settlement.qris.notifications import apply_notification
from settlement.qris.reconcile import reconcile_day
from tests.support.uow import at, us

pytestmark = pytest.mark.integration

DAY = date(2024, 12, 2)
T0 = datetime(2024, 12, 2, 2, 0, tzinfo=UTC)  # 09:00 WIB
TTL = timedelta(minutes=30)
NMID = "ID1020000000007"
FORMATS = load_formats(Path(__file__).parents[2] / "settlement" / "qris" / "report_formats.json")
HEADER = "rrn,amount,fee,transaction_time,nmid,reference,transaction_id,status"


@dataclass(frozen=True)
class Expect:
    """An expectation of the scenario, named so that assertions can say which one was paid."""

    name: str
    amount_sen: int
    reference: str | None = None
    created_min: int = 0
    criteria: str = "UMI"


@dataclass(frozen=True)
class Pay:
    """One payment as both sources would see it."""

    rrn: str
    amount_sen: int
    at_min: int
    reference: str | None = None
    fee_sen: int | None = None
    refunded: bool = False
    tx: str = ""

    @property
    def at(self) -> datetime:
        return T0 + timedelta(minutes=self.at_min)


@dataclass(frozen=True)
class Scenario:
    expects: tuple[Expect, ...]
    pays: tuple[Pay, ...]
    kinds: dict[str, set[str]]  # per source: the kinds listed for DAY
    paid: dict[str, int] = field(default_factory=dict)  # expectation name -> fee_sen booked
    before_report: tuple[Pay, ...] = ()  # notified before the report of the day is reconciled


SCENARIOS = {
    "by_reference": Scenario(
        (Expect("bill", 1_500_000, "R-1"),),
        (Pay("000000000101", 1_500_000, 5, "R-1"),),
        {"event": set(), "report": set()},
        {"bill": 0},
    ),
    "static_oldest_first": Scenario(
        (Expect("older", 2_000_000), Expect("newer", 2_000_000, created_min=1)),
        (Pay("000000000102", 2_000_000, 5),),
        {"event": set(), "report": {"unmatched_expectation"}},
        {"older": 0},
    ),
    "amount_mismatch": Scenario(
        (Expect("bill", 1_500_000, "R-3"),),
        (Pay("000000000103", 1_600_000, 5, "R-3"),),
        {"event": {"amount_mismatch"}, "report": {"amount_mismatch", "unmatched_expectation"}},
    ),
    "late": Scenario(
        (Expect("bill", 1_500_000, "R-4"),),
        (Pay("000000000104", 1_500_000, 45, "R-4"),),
        {"event": {"late"}, "report": {"late"}},
        {"bill": 0},
    ),
    "fee_mismatch": Scenario(
        (Expect("bill", 100_000_000, "R-5", criteria="UKE"),),  # schedule: 0.7% = 700_000
        (Pay("000000000105", 100_000_000, 5, "R-5", fee_sen=900_000),),
        {"event": {"fee_mismatch"}, "report": {"fee_mismatch"}},
        {"bill": 900_000},
    ),
    "refund": Scenario(
        (Expect("bill", 1_500_000, "R-6"),),
        (Pay("000000000106", 1_500_000, 5, "R-6", refunded=True),),
        {"event": {"refund"}, "report": {"refund", "unmatched_expectation"}},
    ),
    "unmatched": Scenario(
        (),
        (Pay("000000000107", 1_234_500, 5, "R-NONE"),),
        {"event": {"unmatched_event"}, "report": {"unmatched_report"}},
    ),
    "duplicate": Scenario(
        (Expect("bill", 1_500_000, "R-8"),),
        (
            Pay("000000000108", 1_500_000, 5, "R-8", tx="a"),
            Pay("000000000108", 1_500_000, 6, "R-8", tx="b"),
        ),
        {"report": {"duplicate"}},
        {"bill": 0},
    ),
    "unmatched_expectation": Scenario(
        (Expect("never", 1_500_000, "R-9"),),
        (Pay("000000000109", 777_00, 5),),  # the day's report holds something else
        {"report": {"unmatched_expectation", "unmatched_report"}},
    ),
    "unreported_payment": Scenario(
        (Expect("bill", 1_500_000, "R-10"),),
        (Pay("000000000111", 777_00, 5),),  # the report does not hold the notified payment
        {"report": {"unreported_payment", "unmatched_report"}},
        {"bill": 0},
        before_report=(Pay("000000000110", 1_500_000, 5, "R-10"),),
    ),
}
CASES = [(name, source) for name, case in SCENARIOS.items() for source in sorted(case.kinds)]


def notify(conn: Connection, pay: Pay) -> None:
    status = EventStatus.REFUNDED if pay.refunded else EventStatus.PAID
    event = QrisEvent(
        provider="midtrans", provider_tx_id=f"tx-{pay.rrn}{pay.tx}", status=status,
        provider_status=str(status), amount_sen=pay.amount_sen, fee_sen=pay.fee_sen,
        rrn=pay.rrn, nmid=NMID, reference=pay.reference,
        paid_at=None if pay.refunded else pay.at,
    )  # fmt: skip
    apply_notification(at(conn, pay.at), event)


def report(conn: Connection, tmp_path: Path, pays: tuple[Pay, ...]) -> None:
    lines = [HEADER]
    for pay in pays:
        fee = "" if pay.fee_sen is None else f"{pay.fee_sen // 100}.{pay.fee_sen % 100:02d}"
        when = pay.at.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S")
        status = "REFUND" if pay.refunded else "SUCCESS"
        amount = f"{pay.amount_sen // 100}.{pay.amount_sen % 100:02d}"
        reference = pay.reference or ""
        lines.append(
            f"{pay.rrn},{amount},{fee},{when},{NMID},{reference},t{pay.rrn}{pay.tx},{status}"
        )
    path = tmp_path / "acquirer.csv"
    path.write_text("\n".join(lines) + "\n")
    ingest_report(at(conn, T0), path, FORMATS["generic"])
    reconcile_day(at(conn, T0 + timedelta(days=1)), DAY, expectation_ttl_max_us=us(TTL))


def credits(conn: Connection, code: str) -> int:
    """Net credits of ``code``; an account never opened holds nothing."""
    try:
        balance = Ledger(conn).balance(code)
    except AccountNotFound:
        return 0
    return balance.credits_posted - balance.debits_posted


@pytest.mark.parametrize(("name", "source"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_each_source_lists_the_kind_and_pays_what_the_rule_says(
    module_conn: Connection, tmp_path: Path, name: str, source: str
) -> None:
    case = SCENARIOS[name]
    ids = {}
    for expect in case.expects:
        made = create_expectation(
            at(module_conn, T0 + timedelta(minutes=expect.created_min)), nmid=NMID,
            amount_sen=expect.amount_sen, ttl_us=us(TTL), reference=expect.reference,
            criteria=expect.criteria,
        )  # fmt: skip
        ids[made.id] = expect.name
    for pay in case.before_report:
        notify(module_conn, pay)
    if source == "event":
        for pay in case.pays:
            notify(module_conn, pay)
    else:
        report(module_conn, tmp_path, case.pays)

    assert {e["kind"] for e in list_exceptions(at(module_conn, T0), DAY)} == case.kinds[source]
    rows = module_conn.execute(
        text("SELECT id, fee_sen, gross_sen FROM qris_expectations WHERE status = 'paid'")
    ).all()
    assert {ids[row.id]: row.fee_sen for row in rows} == case.paid
    gross = sum(row.gross_sen for row in rows)
    assert credits(module_conn, merchant_account(NMID)) == gross  # nothing posted for a refusal
    assert -credits(module_conn, MDR_EXPENSE_ACCOUNT) == sum(case.paid.values())


def test_every_exception_kind_is_asserted_from_every_source_that_lists_it() -> None:
    """A new kind needs a scenario here; so does a source that starts to produce one."""
    asserted = {
        kind for case in SCENARIOS.values() for kinds in case.kinds.values() for kind in kinds
    }
    assert asserted == set(ACTIONS)
    both = {"amount_mismatch", "fee_mismatch", "late", "refund"}
    for kind in both:
        assert any(kind in c.kinds.get("event", ()) for c in SCENARIOS.values()), kind
        assert any(kind in c.kinds.get("report", ()) for c in SCENARIOS.values()), kind
