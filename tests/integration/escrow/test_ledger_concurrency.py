"""Sixteen workers hammer the same hot accounts at once; the books end as the serial sum.

Every worker has its own connection and posts single transfers, small batches and linked pairs:
top-ups from the treasury into flagged wallets (which must never go negative), spends from the
wallets to merchants (some of them too large on purpose), and the same shared transfer ids as
every other worker. A ``LedgerConflict`` rolls the transaction back and retries it. These tests
commit, so every run opens its own accounts.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Connection, Engine, text

from escrow import ledger as ledger_module
from escrow.errors import LedgerConflict
from escrow.ledger import Ledger
from escrow.model import (
    AccountFlags,
    AccountKind,
    Result,
    ResultCode,
    TransferFlags,
    TransferRequest,
)

pytestmark = pytest.mark.integration

workers_count = 16
operations_per_worker = 60
shared_transfers_count = 12
contested_transfers_count = 4
wallets_count = 3
merchants_count = 4
attempts_max = 100
top_up_amount_max = 900
spend_amount_max = 1_200
impossible_spend = 10**12
"""More than every top-up together: such a spend must always be exceeds_credits."""


@dataclass
class Accounts:
    """This run's accounts, with unique codes because the test commits."""

    treasury: str
    wallets: list[str]
    merchants: list[str]

    @property
    def all(self) -> list[str]:
        return [self.treasury, *self.wallets, *self.merchants]


@dataclass
class Outcome:
    """What one worker saw: the committed result of every request, and how often it retried."""

    posted: list[tuple[TransferRequest, Result]] = field(default_factory=list)
    conflicts: int = 0


def open_accounts(engine: Engine) -> Accounts:
    suffix = uuid.uuid4().hex[:12]
    accounts = Accounts(
        treasury=f"conc-treasury:{suffix}",
        wallets=[f"conc-wallet-{i}:{suffix}" for i in range(wallets_count)],
        merchants=[f"conc-merchant-{i}:{suffix}" for i in range(merchants_count)],
    )
    with engine.begin() as conn:
        ledger = Ledger(conn)
        ledger.ensure_account(accounts.treasury, "IDR", AccountKind.ASSET)
        for wallet in accounts.wallets:
            ledger.ensure_account(
                wallet, "IDR", AccountKind.LIABILITY,
                flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            )  # fmt: skip
        for merchant in accounts.merchants:
            ledger.ensure_account(merchant, "IDR", AccountKind.LIABILITY)
    return accounts


def new_id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def top_up(rng: random.Random, accounts: Accounts, flags: TransferFlags) -> TransferRequest:
    return TransferRequest(
        new_id(rng), accounts.treasury, rng.choice(accounts.wallets),
        rng.randint(1, top_up_amount_max), "IDR", "test.top_up", flags=flags,
    )  # fmt: skip


def spend(rng: random.Random, accounts: Accounts, amount: int | None = None) -> TransferRequest:
    return TransferRequest(
        new_id(rng), rng.choice(accounts.wallets), rng.choice(accounts.merchants),
        amount if amount is not None else rng.randint(1, spend_amount_max), "IDR", "test.spend",
    )  # fmt: skip


def any_move(rng: random.Random, accounts: Accounts) -> TransferRequest:
    if rng.random() < 0.5:
        return top_up(rng, accounts, TransferFlags.NONE)
    return spend(rng, accounts)


def contested(worker: int, transfer_id: uuid.UUID, accounts: Accounts) -> TransferRequest:
    """The same id with other fields per worker; half use other accounts, so only the id races."""
    first = 2 * (worker % 2)
    debit, credit = accounts.merchants[first], accounts.merchants[first + 1]
    return TransferRequest(transfer_id, debit, credit, worker + 1, "IDR", "test.contested")


def worker_script(
    worker: int,
    accounts: Accounts,
    shared: Sequence[TransferRequest],
    contested_ids: Sequence[uuid.UUID],
    seed: int,
) -> list[list[TransferRequest]]:
    """The batches one worker posts, in order: the shared transfers are spread among its own."""
    rng = random.Random(seed * 1_000 + worker)
    batches = [[contested(worker, transfer_id, accounts)] for transfer_id in contested_ids]
    for _ in range(operations_per_worker):
        shape = rng.random()
        if shape < 0.4:
            batches.append([any_move(rng, accounts)])
        elif shape < 0.7:
            batches.append([any_move(rng, accounts) for _ in range(rng.randint(2, 4))])
        elif shape < 0.85:
            # A linked pair: the top-up only stands if the spend after it does too.
            batches.append([top_up(rng, accounts, TransferFlags.LINKED), spend(rng, accounts)])
        else:
            too_much = spend(rng, accounts, impossible_spend)
            batches.append([too_much, top_up(rng, accounts, TransferFlags.NONE)])
    for request in shared:
        batches.insert(rng.randint(len(contested_ids), len(batches)), [request])
    return batches


def run_worker(
    engine: Engine, batches: list[list[TransferRequest]], start: threading.Barrier
) -> Outcome:
    outcome = Outcome()
    with engine.connect() as conn:
        start.wait()
        for batch in batches:
            for _ in range(attempts_max):
                try:
                    with conn.begin():
                        results = Ledger(conn).post_batch(batch)
                    break
                except LedgerConflict:
                    outcome.conflicts += 1
            else:
                raise AssertionError(f"gave up after {attempts_max} conflicts on {batch[0].id}")
            outcome.posted.extend(zip(batch, results, strict=True))
    return outcome


@pytest.mark.parametrize("copy_from", [1, ledger_module.copy_rows_min], ids=["copy", "insert"])
def test_sixteen_workers_on_hot_accounts_end_as_the_serial_sum(
    db_engine: Engine, monkeypatch: pytest.MonkeyPatch, copy_from: int
) -> None:
    """Both ways a batch is stored (COPY, INSERT) under the same contention."""
    monkeypatch.setattr(ledger_module, "copy_rows_min", copy_from)
    accounts = open_accounts(db_engine)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    shared = [top_up(rng, accounts, TransferFlags.NONE) for _ in range(shared_transfers_count)]
    contested_ids = [new_id(rng) for _ in range(contested_transfers_count)]
    scripts = [
        worker_script(w, accounts, shared, contested_ids, seed) for w in range(workers_count)
    ]
    start = threading.Barrier(workers_count)
    with ThreadPoolExecutor(max_workers=workers_count) as pool:
        outcomes = list(pool.map(lambda s: run_worker(db_engine, s, start), scripts))
    posted = [pair for outcome in outcomes for pair in outcome.posted]
    context = f"seed={seed}"

    # Every shared id was posted once (OK) and seen as EXISTS by the fifteen others.
    by_shared_id = Counter((r.id, r.code) for _, r in posted if r.id in {s.id for s in shared})
    for request in shared:
        assert by_shared_id[(request.id, ResultCode.OK)] == 1, context
        assert by_shared_id[(request.id, ResultCode.EXISTS)] == workers_count - 1, context
    # A raced id is stored once, as the one worker that got OK asked for it.
    winners = {r.id: q for q, r in posted if r.id in contested_ids and r.code is ResultCode.OK}
    assert sorted(winners) == sorted(contested_ids), context
    for request, result in posted:
        if request.id in winners:
            if request == winners[request.id]:
                assert result.code in (ResultCode.OK, ResultCode.EXISTS), context
            else:
                assert result.code is ResultCode.EXISTS_WITH_DIFFERENT_FIELDS, context
    codes = Counter(result.code for _, result in posted)
    assert codes[ResultCode.EXCEEDS_CREDITS] >= workers_count, context
    assert set(codes) <= {
        ResultCode.OK,
        ResultCode.EXISTS,
        ResultCode.EXISTS_WITH_DIFFERENT_FIELDS,
        ResultCode.EXCEEDS_CREDITS,
        ResultCode.LINKED_EVENT_FAILED,
    }, context  # fmt: skip
    ok = [request for request, result in posted if result.code is ResultCode.OK]
    assert len({r.id for r in ok}) == len(ok), context

    expected_debits: dict[str, int] = defaultdict(int)
    expected_credits: dict[str, int] = defaultdict(int)
    for request in ok:
        expected_debits[request.debit] += request.amount
        expected_credits[request.credit] += request.amount

    with db_engine.connect() as conn:
        ledger = Ledger(conn)
        stored = {code: ledger.account(code) for code in accounts.all}
        for code, account in stored.items():
            assert (account.debits_posted, account.credits_posted) == (
                expected_debits[code], expected_credits[code]
            ), f"{code} {context}"  # fmt: skip
            assert (account.debits_pending, account.credits_pending) == (0, 0), context
        for wallet in accounts.wallets:
            assert stored[wallet].debits_posted <= stored[wallet].credits_posted, context
            assert ledger.balance(wallet).available >= 0, context

        ids = [request.id for request in ok]
        assert conn.execute(
            text("SELECT count(*) FROM transfers WHERE id = ANY(:ids)"), {"ids": ids}
        ).scalar_one() == len(ids), context
        assert (
            conn.execute(
                text("SELECT count(*) FROM transfers WHERE id = ANY(:ids)"),
                {"ids": [s.id for s in shared]},
            ).scalar_one()
            == shared_transfers_count
        ), context

        sums = conn.execute(
            text(
                "SELECT a.code,"
                " (SELECT coalesce(sum(t.amount), 0) FROM transfers t"
                "   WHERE t.debit_account_id = a.id AND t.flags = 0),"
                " (SELECT coalesce(sum(t.amount), 0) FROM transfers t"
                "   WHERE t.credit_account_id = a.id AND t.flags = 0),"
                " a.debits_posted, a.credits_posted"
                " FROM accounts a WHERE a.code = ANY(:codes)"
            ),
            {"codes": accounts.all},
        ).all()
        assert len(sums) == len(accounts.all)
        for code, debits, credits, debits_posted, credits_posted in sums:
            assert (debits, credits) == (debits_posted, credits_posted), f"{code} {context}"

        assert all(line.balanced for line in ledger.trial_balance()), context
        assert_serial_order_never_overdraws(conn, accounts)


def assert_serial_order_never_overdraws(conn: Connection, accounts: Accounts) -> None:
    """Replayed in ledger-timestamp order, the stored transfers never take a wallet below 0."""
    rows = conn.execute(
        text(
            "SELECT d.code, c.code, t.amount FROM transfers t"
            " JOIN accounts d ON d.id = t.debit_account_id"
            " JOIN accounts c ON c.id = t.credit_account_id"
            " WHERE d.code = ANY(:codes) OR c.code = ANY(:codes) ORDER BY t.ts"
        ),
        {"codes": accounts.wallets},
    ).all()
    balance: dict[str, int] = defaultdict(int)
    for debit, credit, amount in rows:
        balance[credit] += amount
        balance[debit] -= amount
        assert balance[debit] >= 0 or debit not in accounts.wallets, (debit, balance[debit])
