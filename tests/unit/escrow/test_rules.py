"""The posting rules, one behaviour at a time, on the in-memory ledger (rules shared with PG)."""

from __future__ import annotations

import itertools
import uuid

import pytest

from escrow.clock import FixedClock
from escrow.errors import AccountConflict, InvalidTransfer, PeriodNotClosable
from escrow.memory import MemoryLedger
from escrow.model import AccountFlags, AccountKind, ResultCode, TransferFlags, TransferRequest
from escrow.periods import period
from escrow.rules import AccountState, Snapshot, plan_batch

START_US = period("2026-03").starts_at_us + 10 * 24 * 3600 * 1_000_000


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START_US)


@pytest.fixture
def ledger(clock: FixedClock) -> MemoryLedger:
    ledger = MemoryLedger(clock)
    ledger.ensure_account("bank:idr", "IDR", AccountKind.ASSET)
    ledger.ensure_account(
        "merchant:UM001:idr",
        "IDR",
        AccountKind.LIABILITY,
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )
    ledger.ensure_account("fees:idr", "IDR", AccountKind.INCOME)
    ledger.ensure_account("custody:pi", "PI", AccountKind.ASSET)
    return ledger


def move(
    amount: int,
    debit: str = "bank:idr",
    credit: str = "merchant:UM001:idr",
    flags: TransferFlags = TransferFlags.NONE,
    **kwargs: object,
) -> TransferRequest:
    return TransferRequest(uuid.uuid4(), debit, credit, amount, "IDR", "test", flags, **kwargs)  # type: ignore[arg-type]


def test_a_posted_transfer_moves_both_sides(ledger: MemoryLedger) -> None:
    [result] = ledger.post_batch([move(1500)])
    assert result.code is ResultCode.OK
    assert ledger.balance("bank:idr").posted == 1500
    assert ledger.balance("merchant:UM001:idr").posted == 1500


def test_same_id_same_fields_is_exists_and_changes_nothing(ledger: MemoryLedger) -> None:
    request = move(700)
    first, again = ledger.post_batch([request, request])
    assert (first.code, again.code) == (ResultCode.OK, ResultCode.EXISTS)
    assert again.timestamp == first.timestamp
    assert ledger.post(request).code is ResultCode.EXISTS
    assert ledger.balance("bank:idr").posted == 700


def test_same_id_other_fields_is_refused(ledger: MemoryLedger) -> None:
    request = move(700)
    ledger.post(request)
    changed = TransferRequest(request.id, request.debit, request.credit, 701, "IDR", "test")
    assert ledger.post(changed).code is ResultCode.EXISTS_WITH_DIFFERENT_FIELDS
    assert ledger.balance("bank:idr").posted == 700


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (move(1, debit="bank:idr", credit="bank:idr"), ResultCode.ACCOUNTS_MUST_DIFFER),
        (move(1, debit="nope"), ResultCode.DEBIT_ACCOUNT_NOT_FOUND),
        (move(1, credit="nope"), ResultCode.CREDIT_ACCOUNT_NOT_FOUND),
        (move(1, debit="custody:pi"), ResultCode.ASSET_MISMATCH),
        (move(0), ResultCode.AMOUNT_MUST_BE_POSITIVE),
        (move(1, timeout_s=5), ResultCode.TIMEOUT_RESERVED_FOR_PENDING),
        (move(1, pending_id=uuid.uuid4()), ResultCode.PENDING_ID_MUST_BE_EMPTY),
        (
            move(1, flags=TransferFlags.PENDING | TransferFlags.POST_PENDING),
            ResultCode.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
        ),
        (move(0, flags=TransferFlags.POST_PENDING), ResultCode.PENDING_ID_REQUIRED),
        (
            move(1, flags=TransferFlags.POST_PENDING, pending_id=uuid.uuid4()),
            ResultCode.PENDING_NOT_FOUND,
        ),
        (
            TransferRequest(uuid.UUID(int=0), "bank:idr", "fees:idr", 1, "IDR", "t"),
            ResultCode.ID_MUST_NOT_BE_ZERO,
        ),
    ],
)
def test_malformed_transfers_are_refused_and_change_nothing(
    ledger: MemoryLedger, request_: TransferRequest, expected: ResultCode
) -> None:
    assert ledger.post(request_).code is expected
    assert all(
        line.debits_posted == 0 and line.debits_pending == 0 for line in ledger.trial_balance()
    )


def test_flagged_account_cannot_go_below_zero(ledger: MemoryLedger) -> None:
    ledger.post(move(1000))
    payout = move(1001, debit="merchant:UM001:idr", credit="bank:idr")
    assert ledger.post(payout).code is ResultCode.EXCEEDS_CREDITS
    exact = move(1000, debit="merchant:UM001:idr", credit="bank:idr")
    assert ledger.post(exact).code is ResultCode.OK
    assert ledger.balance("merchant:UM001:idr").posted == 0


def test_credits_limit(ledger: MemoryLedger) -> None:
    ledger.ensure_account(
        "reserve:idr", "IDR", AccountKind.ASSET, flags=AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    )
    assert (
        ledger.post(move(5, debit="fees:idr", credit="reserve:idr")).code
        is ResultCode.EXCEEDS_DEBITS
    )


def test_pending_reserves_then_partial_post_releases_the_rest(ledger: MemoryLedger) -> None:
    ledger.post(move(1000))
    hold = move(600, debit="merchant:UM001:idr", credit="fees:idr", flags=TransferFlags.PENDING)
    assert ledger.post(hold).code is ResultCode.OK
    merchant = ledger.balance("merchant:UM001:idr")
    assert (merchant.posted, merchant.pending_out, merchant.available) == (1000, 600, 400)
    # The reservation counts against the limit.
    assert (
        ledger.post(move(401, debit="merchant:UM001:idr", credit="fees:idr")).code
        is ResultCode.EXCEEDS_CREDITS
    )
    post = move(250, debit="", credit="", flags=TransferFlags.POST_PENDING, pending_id=hold.id)
    assert ledger.post(post).code is ResultCode.OK
    merchant = ledger.balance("merchant:UM001:idr")
    assert (merchant.posted, merchant.pending_out) == (750, 0)
    assert ledger.balance("fees:idr").posted == 250
    again = move(1, debit="", credit="", flags=TransferFlags.POST_PENDING, pending_id=hold.id)
    assert ledger.post(again).code is ResultCode.PENDING_ALREADY_POSTED


def test_void_releases_everything_and_only_once(ledger: MemoryLedger) -> None:
    ledger.post(move(1000))
    hold = move(600, debit="merchant:UM001:idr", credit="fees:idr", flags=TransferFlags.PENDING)
    ledger.post(hold)
    void = move(0, debit="", credit="", flags=TransferFlags.VOID_PENDING, pending_id=hold.id)
    assert ledger.post(void).code is ResultCode.OK
    assert ledger.balance("merchant:UM001:idr").available == 1000
    second = move(0, debit="", credit="", flags=TransferFlags.VOID_PENDING, pending_id=hold.id)
    assert ledger.post(second).code is ResultCode.PENDING_ALREADY_VOIDED
    bad_amount = move(5, debit="", credit="", flags=TransferFlags.VOID_PENDING, pending_id=hold.id)
    assert ledger.post(bad_amount).code in (
        ResultCode.PENDING_ALREADY_VOIDED,
        ResultCode.VOID_AMOUNT_MUST_BE_ZERO,
    )


def test_post_more_than_pending_or_other_accounts_is_refused(ledger: MemoryLedger) -> None:
    hold = move(600, flags=TransferFlags.PENDING)
    ledger.post(hold)
    too_much = move(601, debit="", credit="", flags=TransferFlags.POST_PENDING, pending_id=hold.id)
    assert ledger.post(too_much).code is ResultCode.EXCEEDS_PENDING_AMOUNT
    other = move(
        6, debit="fees:idr", credit="", flags=TransferFlags.POST_PENDING, pending_id=hold.id
    )
    assert ledger.post(other).code is ResultCode.PENDING_HAS_DIFFERENT_ACCOUNTS


def test_pending_times_out_and_is_voided_by_the_sweeper(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    hold = move(600, flags=TransferFlags.PENDING, timeout_s=120)
    ledger.post(hold)
    clock.advance(119)
    assert ledger.void_expired() == 0
    clock.advance(2)
    post = move(600, debit="", credit="", flags=TransferFlags.POST_PENDING, pending_id=hold.id)
    assert ledger.post(post).code is ResultCode.PENDING_EXPIRED
    assert ledger.void_expired() == 1
    assert ledger.void_expired() == 0
    assert ledger.balance("bank:idr").pending_in == 0
    assert ledger.post(post).code is ResultCode.PENDING_EXPIRED


def test_linked_chain_is_all_or_nothing(ledger: MemoryLedger) -> None:
    ok_first = move(100, flags=TransferFlags.LINKED)
    failing = move(10_000, debit="merchant:UM001:idr", credit="fees:idr")
    results = ledger.post_batch([ok_first, failing, move(5)])
    assert [r.code for r in results] == [
        ResultCode.LINKED_EVENT_FAILED,
        ResultCode.EXCEEDS_CREDITS,
        ResultCode.OK,
    ]
    assert ledger.balance("merchant:UM001:idr").posted == 5
    assert ledger.transfer(ok_first.id) is None
    # The failed chain's ids are free: the corrected chain posts.
    retry = [ok_first, move(50, debit="merchant:UM001:idr", credit="fees:idr")]
    assert [r.code for r in ledger.post_batch(retry)] == [ResultCode.OK, ResultCode.OK]


def test_open_chain_at_end_of_batch_fails(ledger: MemoryLedger) -> None:
    results = ledger.post_batch([move(1), move(2, flags=TransferFlags.LINKED)])
    assert [r.code for r in results] == [ResultCode.OK, ResultCode.LINKED_EVENT_CHAIN_OPEN]


def test_cross_asset_conversion_is_two_linked_transfers_each_balanced(ledger: MemoryLedger) -> None:
    ledger.ensure_account("pioneer:P1:pi", "PI", AccountKind.LIABILITY)
    ledger.ensure_account("exchange:pi", "PI", AccountKind.EQUITY)
    ledger.ensure_account("exchange:idr", "IDR", AccountKind.EQUITY)
    pi_leg = TransferRequest(
        uuid.uuid4(),
        "pioneer:P1:pi",
        "exchange:pi",
        31_415_926,
        "PI",
        "convert",
        TransferFlags.LINKED,
    )
    idr_leg = TransferRequest(
        uuid.uuid4(), "exchange:idr", "merchant:UM001:idr", 900_000, "IDR", "convert"
    )
    assert all(r.code is ResultCode.OK for r in ledger.post_batch([pi_leg, idr_leg]))
    assert all(line.balanced for line in ledger.trial_balance())


def test_timestamps_strictly_increase(ledger: MemoryLedger) -> None:
    results = ledger.post_batch([move(1) for _ in range(5)]) + ledger.post_batch([move(1)])
    stamps = [r.timestamp for r in results]
    assert all(a is not None and b is not None and a < b for a, b in itertools.pairwise(stamps))


def test_closed_period_accepts_nothing_dated_inside(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    march = period("2026-03")
    with pytest.raises(PeriodNotClosable):
        ledger.close_period("2026-03")
    clock.advance(30 * 24 * 3600)
    ledger.close_period("2026-03")
    after = ledger.post(move(1))
    assert after.code is ResultCode.OK
    assert after.timestamp is not None
    assert after.timestamp > march.ends_at_us
    clock.advance(-40 * 24 * 3600)  # a clock that jumps back into March
    late = ledger.post(move(1))
    assert late.timestamp is not None
    assert late.timestamp > after.timestamp  # still dated after the closed month


def test_the_rules_refuse_a_timestamp_inside_a_closed_period() -> None:
    """Defence in depth: the timestamp source never goes back, and the rule holds regardless."""
    bank = AccountState(1, "bank", "IDR", AccountFlags.NONE)
    shop = AccountState(2, "shop", "IDR", AccountFlags.NONE)
    snap = Snapshot({"bank": bank, "shop": shop}, {}, {}, closed_through_us=1_000)
    request = TransferRequest(uuid.uuid4(), "bank", "shop", 5, "IDR", "late")
    inside, outside = plan_batch([request], snap, [1_000]), plan_batch([request], snap, [1_001])
    assert inside.results[0].code is ResultCode.PERIOD_CLOSED
    assert not inside.rows
    assert outside.results[0].code is ResultCode.OK


def test_accounts_are_opened_once_with_fixed_asset(ledger: MemoryLedger) -> None:
    again = ledger.ensure_account("bank:idr", "IDR", AccountKind.ASSET)
    assert again.id == ledger.account("bank:idr").id
    with pytest.raises(AccountConflict):
        ledger.ensure_account("bank:idr", "PI", AccountKind.ASSET)


@pytest.mark.parametrize("amount", [-1, 2**63, 1.5, True])
def test_amounts_must_be_int_minor_units(amount: object) -> None:
    with pytest.raises(InvalidTransfer):
        TransferRequest(uuid.uuid4(), "a", "b", amount, "IDR", "x")  # type: ignore[arg-type]


def test_batch_size_is_bounded(ledger: MemoryLedger) -> None:
    with pytest.raises(InvalidTransfer):
        ledger.post_batch([move(1) for _ in range(8191)])
