"""The treasury's books from end-of-month balances: random postings across the chart's declared
accounts, and the neraca always balances per asset, ties to the trial balance, and every figure
is the sum of the accounts it lists (issue 12 item 10)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from escrow.chart import AccountPattern
from settlement.audit.store import BalanceRow
from settlement.books.figures import ASSETS, LABELS, laba_rugi, neraca, trial_balance
from settlement.chart import CHART

Posting = tuple[str, str, str, int]
"""(asset, debit code, credit code, amount)."""


def _code(pattern: AccountPattern, n: int) -> str:
    return pattern.spec(**{name: f"x{n}" for name in pattern.placeholders}).code


ACCOUNTS: dict[str, list[tuple[str, str]]] = defaultdict(list)
"""Asset -> (code, kind) of accounts of every declared pattern (two of each placeholder one)."""
for _pattern in CHART.accounts:
    for _n in range(2 if _pattern.placeholders else 1):
        ACCOUNTS[_pattern.asset].append((_code(_pattern, _n), str(_pattern.kind)))


@st.composite
def postings(draw: st.DrawFn) -> list[Posting]:
    found = []
    for _ in range(draw(st.integers(0, 40))):
        asset = draw(st.sampled_from(sorted(ACCOUNTS)))
        debit, credit = draw(
            st.lists(st.sampled_from(ACCOUNTS[asset]), min_size=2, max_size=2, unique=True)
        )
        found.append((asset, debit[0], credit[0], draw(st.integers(1, 10**12))))
    return found


def _rows(done: Sequence[Posting]) -> list[BalanceRow]:
    kinds = {code: kind for accounts in ACCOUNTS.values() for code, kind in accounts}
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for asset, debit, credit, amount in done:
        totals[(debit, asset)][0] += amount
        totals[(credit, asset)][1] += amount
    return [
        BalanceRow(code, None, asset, kinds[code], d, c, 0, 0)
        for (code, asset), (d, c) in sorted(totals.items())
    ]


@settings(max_examples=200, deadline=None)
@given(postings(), postings())
def test_the_neraca_balances_and_ties_to_the_trial_balance(
    earlier: list[Posting], month: list[Posting]
) -> None:
    before, end = _rows(earlier), _rows(earlier + month)
    sheets = {s.books.asset: s for s in neraca(end, before)}
    statements = {s.books.asset: s for s in laba_rugi(end, before)}
    trials = {t.asset: t for t in trial_balance(end)}
    assert tuple(sheets) == tuple(statements) == tuple(trials) == ASSETS
    for asset in ASSETS:
        sheet, statement, trial = sheets[asset], statements[asset], trials[asset]
        assert trial.balanced
        assert sheet.balanced
        kinds = sheet.by_kind()
        assert kinds["asset"] == (
            kinds["liability"] + kinds["equity"] + kinds["income"] - kinds["expense"]
        )
        # the month's result is the laba rugi's, from the month's postings alone
        assert sheet.result_units == statement.result_units
        moved = _rows(month)
        income = sum(r.credits_posted - r.debits_posted for r in moved
                     if r.asset == asset and r.kind == "income")  # fmt: skip
        expense = sum(r.debits_posted - r.credits_posted for r in moved
                      if r.asset == asset and r.kind == "expense")  # fmt: skip
        assert statement.result_units == income - expense
        for books in (sheet.books, statement.books):
            for line in books.lines:
                assert line.amount_units == sum(a.amount_units for a in line.accounts)
                assert all(CHART.spec_of(a.code).asset == asset for a in line.accounts)
    # every account of the month's end is on exactly one neraca line or laba rugi line
    listed = [
        a.code
        for s in (*sheets.values(), *statements.values())
        for line in s.books.lines
        for a in line.accounts
    ]
    assert sorted(listed) == sorted(r.code for r in end)


def test_every_pattern_of_the_chart_has_a_line_in_bahasa_indonesia() -> None:
    assert [p.pattern for p in CHART.accounts if p.pattern not in LABELS] == []


def test_an_empty_ledger_has_empty_balanced_books() -> None:
    for sheet in neraca([], []):
        assert sheet.balanced
        assert sheet.books.lines == ()
