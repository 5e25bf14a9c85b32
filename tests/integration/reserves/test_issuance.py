"""MSC issuance against Rupiah, redemption and reserve coverage on PostgreSQL (issue 12, items 4
and 5): each bank line booked once, MSC only with its deposit and above the floor, refusals
that post nothing, and every computation stored with its inputs."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import Connection, text

from chain.bank.account import BankAccount
from chain.rates.ports import PriceObservation
from escrow.calendar import from_us
from escrow.clock import FixedClock
from escrow.model import TransferRequest
from settlement import chart, parameters
from settlement.audit.proposal import sign
from settlement.chart import TransferCode
from settlement.governance import treasury
from settlement.reserves.issuance import (
    BankDeposit,
    BankDepositConflict,
    BankDepositNotIssuable,
    BankDepositUnknown,
    HolderInvalid,
    NeedsGovernance,
    find_deposit,
    issue,
    record_bank_deposit,
)
from settlement.reserves.redemption import (
    RedemptionConflict,
    RedemptionRefused,
    RedemptionRequest,
    redeem,
)
from settlement.reserves.reserve import (
    CoverageBelowFloor,
    latest,
    read_figures,
    require_coverage,
)
from settlement.unit_of_work import UnitOfWork, bind
from tests.support import governance

pytestmark = pytest.mark.integration

HOLDER = "pioneer:uid-ani:MSC"
ACCOUNT = BankAccount("014", "1234567890", "ANI LESTARI")
DAY = date(2026, 12, 1)
PI = 10**7


@pytest.fixture
def uow(module_conn: Connection, clock: FixedClock) -> UnitOfWork:
    return bind(module_conn, clock)


def deposit(reference: str, amount: int, holder: str | None = HOLDER) -> BankDeposit:
    return BankDeposit(reference, amount, holder, DAY, memo="setoran")


def price(uow: UnitOfWork, sen_per_pi: int) -> PriceObservation:
    return PriceObservation("PI", "IDR", sen_per_pi, uow.clock.now_us(), "test")


def balance(uow: UnitOfWork, code: str) -> int:
    return uow.ledger.balance(code).posted


def count(uow: UnitOfWork, code: TransferCode) -> int:
    query = text("SELECT count(*) FROM transfers WHERE code = :c")
    return int(uow.conn.execute(query, {"c": str(code)}).scalar_one())


def pi_capital(uow: UnitOfWork, units: int) -> None:
    """The treasury's own Pi into custody: the Pi inventory the reserve values."""
    for spec in (chart.pi_custody(), chart.pi_capital()):
        chart.open_account(uow.ledger, spec)
    request = TransferRequest(
        uuid.uuid4(), chart.pi_custody().code, chart.pi_capital().code, units, "PI",
        TransferCode.PI_CUSTODY_DEPOSIT,
    )  # fmt: skip
    assert uow.ledger.post(request).ok


def test_a_deposit_then_its_issuance_books_one_linked_pair(uow: UnitOfWork) -> None:
    booked = record_bank_deposit(uow, deposit("BCA-001", 1_500_000), by="ana")
    assert booked.created
    assert balance(uow, "reserve:bank:IDR") == 1_500_000
    assert balance(uow, "msc:deposits:IDR") == 1_500_000
    assert HOLDER not in {a.code for a in uow.ledger.accounts()}

    issued = issue(uow, "BCA-001", by="ana")
    assert issued.issue_transfer_id is not None
    assert issued.view()["status"] == "issued"
    assert balance(uow, HOLDER) == 1_500_000
    assert balance(uow, "msc:deposits:IDR") == 0
    assert balance(uow, "msc:backing:IDR") == 1_500_000
    assert uow.ledger.balance("msc:issued").debits_posted == 1_500_000
    found = latest(uow.conn)
    assert found is not None
    assert (found.reserve_value_idr, found.msc_outstanding, found.coverage_bps) == (
        1_500_000, 1_500_000, 10_000,
    )  # fmt: skip


def test_the_same_bank_line_twice_replays_and_another_under_its_reference_is_refused(
    uow: UnitOfWork,
) -> None:
    record_bank_deposit(uow, deposit("BCA-002", 700_000), by="ana")
    again = record_bank_deposit(uow, deposit("BCA-002", 700_000), by="budi")
    assert not again.created
    with pytest.raises(BankDepositConflict) as refused:
        record_bank_deposit(uow, deposit("BCA-002", 700_001), by="ana")
    assert refused.value.code == "bank_deposit_conflict"
    assert count(uow, TransferCode.BANK_DEPOSIT) == 1
    assert balance(uow, "reserve:bank:IDR") == 700_000


def test_issuing_twice_issues_once(uow: UnitOfWork) -> None:
    record_bank_deposit(uow, deposit("BCA-003", 10_000), by="ana")
    first = issue(uow, "BCA-003", by="ana")
    second = issue(uow, "BCA-003", by="ana")
    assert first.created
    assert not second.created
    assert first.issue_transfer_id == second.issue_transfer_id
    assert count(uow, TransferCode.MSC_ISSUE) == 2  # one pair
    assert balance(uow, HOLDER) == 10_000


def test_unknown_deposit_capital_deposit_and_bad_holder_are_refused(uow: UnitOfWork) -> None:
    with pytest.raises(BankDepositUnknown):
        issue(uow, "NOPE", by="ana")
    record_bank_deposit(uow, deposit("CAP-1", 50_000, holder=None), by="ana")
    with pytest.raises(BankDepositNotIssuable):
        issue(uow, "CAP-1", by="ana")
    assert balance(uow, "reserve:capital:IDR") == 50_000
    assert count(uow, TransferCode.MSC_ISSUE) == 0
    with pytest.raises(HolderInvalid):
        deposit("X-1", 1, holder="treasury:pi_custody")


def test_below_the_floor_issuance_is_refused_and_nothing_is_posted(uow: UnitOfWork) -> None:
    parameters.set_(uow, parameters.RESERVE_FLOOR_BPS, 10_500, by="ana")
    record_bank_deposit(uow, deposit("BCA-004", 100_000), by="ana")
    with pytest.raises(CoverageBelowFloor) as refused:
        issue(uow, "BCA-004", by="ana")
    assert refused.value.code == "reserve_coverage_below_floor"
    assert count(uow, TransferCode.MSC_ISSUE) == 0
    assert balance(uow, "msc:deposits:IDR") == 100_000
    record = find_deposit(uow, "BCA-004")
    assert record is not None
    assert record.issued_at_us is None
    outbox = uow.conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
    assert outbox == 0


def test_pi_inventory_at_a_haircut_lifts_coverage_and_a_falling_price_stops_issuance(
    uow: UnitOfWork,
) -> None:
    parameters.set_(uow, parameters.RESERVE_FLOOR_BPS, 11_000, by="ana")
    parameters.set_(uow, parameters.RESERVE_HAIRCUT_BPS, 5_000, by="ana")
    pi_capital(uow, 10 * PI)  # 10 Pi at Rp 5.000 (500_000 sen), half counted: 2_500_000 sen
    record_bank_deposit(uow, deposit("BCA-005", 10_000_000), by="ana")
    issue(uow, "BCA-005", by="ana", price=price(uow, 500_000))
    found = latest(uow.conn)
    assert found is not None
    assert (found.pi_value_idr, found.coverage_bps) == (2_500_000, 12_500)
    assert found.price is not None
    assert found.price.source == "test"

    record_bank_deposit(uow, deposit("BCA-006", 10_000_000), by="ana")
    with pytest.raises(CoverageBelowFloor):  # 20M + 0.5M over 20M: 10_250 bps after
        issue(uow, "BCA-006", by="ana", price=price(uow, 100_000))
    assert balance(uow, HOLDER) == 10_000_000
    issue(uow, "BCA-006", by="ana", price=price(uow, 1_000_000))  # 20M + 5M over 20M
    assert balance(uow, HOLDER) == 20_000_000


def test_without_a_fresh_price_the_pi_counts_for_nothing(uow: UnitOfWork) -> None:
    parameters.set_(uow, parameters.RESERVE_HAIRCUT_BPS, 10_000, by="ana")
    pi_capital(uow, PI)
    found = require_coverage(uow)
    assert found.price is None
    assert found.pi_value_idr == 0
    assert read_figures(uow.conn).pi_inventory == PI


def test_a_redemption_burns_first_and_owes_the_rupiah_once(uow: UnitOfWork) -> None:
    record_bank_deposit(uow, deposit("BCA-007", 300_000), by="ana")
    issue(uow, "BCA-007", by="ana")
    wanted = RedemptionRequest("r-1", HOLDER, 120_000, ACCOUNT)
    done = redeem(uow, wanted, by="ana")
    assert done.created
    assert done.status == "owed"
    assert balance(uow, HOLDER) == 180_000
    assert balance(uow, "payable:redemptions:IDR") == 120_000
    assert balance(uow, "msc:backing:IDR") == 180_000
    assert not redeem(uow, wanted, by="ana").created
    assert count(uow, TransferCode.MSC_REDEEM) == 2
    row = uow.conn.execute(text("SELECT status, amount FROM msc_redemptions")).one()
    assert tuple(row) == ("owed", 120_000)
    figures = read_figures(uow.conn)
    assert figures.idr_reserve == 180_000
    assert figures.msc_ledger == 180_000
    with pytest.raises(RedemptionConflict):
        redeem(uow, RedemptionRequest("r-1", HOLDER, 1, ACCOUNT), by="ana")


def test_a_redemption_beyond_the_balance_is_refused_and_posts_nothing(uow: UnitOfWork) -> None:
    record_bank_deposit(uow, deposit("BCA-008", 5_000), by="ana")
    issue(uow, "BCA-008", by="ana")
    with pytest.raises(RedemptionRefused) as refused:
        redeem(uow, RedemptionRequest("r-2", HOLDER, 5_001, ACCOUNT), by="ana")
    assert refused.value.code == "redemption_exceeds_balance"
    assert count(uow, TransferCode.MSC_REDEEM) == 0
    assert uow.conn.execute(text("SELECT count(*) FROM msc_redemptions")).scalar_one() == 0
    assert balance(uow, HOLDER) == 5_000


def test_without_a_price_given_the_newest_fresh_recorded_quote_values_the_pi(
    uow: UnitOfWork,
) -> None:
    parameters.set_(uow, parameters.RESERVE_HAIRCUT_BPS, 10_000, by="ana")
    pi_capital(uow, PI)
    now = from_us(uow.clock.now_us())
    uow.conn.execute(
        text(
            "INSERT INTO rate_quotes (id, base_asset, quote_asset, price_units, source,"
            " observed_at, created_at, expires_at) VALUES (:id, 'PI', 'IDR', 314000, 'quote',"
            " :at, :at, :expires)"
        ),
        {"id": uuid.uuid4(), "at": now, "expires": now + timedelta(minutes=2)},
    )
    found = require_coverage(uow)
    assert found.price is not None
    assert (found.price.source, found.pi_value_idr) == ("quote", 314_000)


def test_above_the_one_officer_limit_issuance_and_burn_need_a_signed_proposal(
    uow: UnitOfWork,
) -> None:
    parameters.set_(uow, parameters.MSC_ONE_OFFICER_LIMIT, "1000.00", "t")
    record_bank_deposit(uow, deposit("BCA-GOV", 100_001), by="ana")
    issued = count(uow, TransferCode.MSC_ISSUE)
    with pytest.raises(NeedsGovernance) as refused:
        issue(uow, "BCA-GOV", by="ana")
    assert refused.value.code == "governance_required"
    assert count(uow, TransferCode.MSC_ISSUE) == issued

    governance.ensure_officers_in(uow)

    def passed(action: str, params: dict[str, object]) -> dict[str, object]:
        proposal = treasury.propose(uow, "t", action, params, uow.clock.now_us() + 10**9)
        for key in governance.OFFICER_KEYS[:2]:
            treasury.add_signature(uow, "t", proposal.id(), sign(proposal, key))
        return treasury.execute(uow, "t", proposal.id())

    passed("msc.issue", {"reference": "BCA-GOV"})
    assert balance(uow, HOLDER) == 100_001
    wanted = RedemptionRequest("r-gov", HOLDER, 100_001, ACCOUNT)
    with pytest.raises(NeedsGovernance):
        redeem(uow, wanted, by="ana")
    passed("msc.redeem", {"holder": HOLDER, "amount": "1000.01", "request_id": "r-gov",
                          "bank_code": "014", "account_number": "1234567890",
                          "holder_name": "ANI LESTARI"})  # fmt: skip
    assert balance(uow, HOLDER) == 0
