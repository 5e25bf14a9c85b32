"""The neraca and laba rugi of one month from end-of-month balances (pure, no database).

Every line is one pattern of the chart of accounts in one asset (``merchant:{merchant}:IDR``:
what the treasury owes all merchants in Rupiah) and lists the accounts it sums, so each figure
traces to its accounts. Balances are posted totals in the account's normal direction (the
audit bundle's ``BalanceLeaf.posted``). Per asset, with income and expense accumulated since
the first transfer: assets = liabilities + equity + (income - expense), which the neraca shows
as the equity accounts, the result of the months before (saldo laba) and the month's result
(laba rugi bulan ini).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from settlement.audit.bundle import DEBIT_NORMAL
from settlement.audit.store import BalanceRow
from settlement.chart import CHART, MERCHANT_ACCOUNTS

ASSETS: tuple[str, ...] = tuple(MERCHANT_ACCOUNTS)
"""The assets of the books, each its own section (IDR, PI, MSC, MSCP): never added together."""
NERACA_KINDS = ("asset", "liability", "equity")
LABA_RUGI_KINDS = ("income", "expense")

LABELS: Mapping[str, str] = {
    "treasury:pi_custody": "Pi dalam kustodi dompet aplikasi",
    "treasury:pi_network_fees": "Biaya jaringan Pi",
    "treasury:pi_capital": "Modal Pi treasury",
    "treasury:pi_suspense": "Pi diterima tanpa Pioneer",
    "pioneer:{uid}:PI": "Utang kepada Pioneer",
    "qris:clearing:IDR": "Dana di acquirer QRIS (kliring)",
    "expense:qris:mdr:IDR": "Beban MDR QRIS",
    "merchant:{merchant}:IDR": "Utang kepada merchant",
    "merchant:{merchant}:PI": "Utang kepada merchant",
    "merchant:{merchant}:MSC": "Utang kepada merchant",
    "merchant:{merchant}:MSCP": "Utang kepada merchant",
    "escrow:checkout:IDR": "Dana titipan checkout (escrow)",
    "escrow:checkout:PI": "Dana titipan checkout (escrow)",
    "escrow:checkout:MSC": "Dana titipan checkout (escrow)",
    "escrow:checkout:MSCP": "Dana titipan checkout (escrow)",
    "income:platform_fee:IDR": "Pendapatan biaya platform",
    "income:platform_fee:PI": "Pendapatan biaya platform",
    "income:platform_fee:MSC": "Pendapatan biaya platform",
    "income:platform_fee:MSCP": "Pendapatan biaya platform",
    "community_fund:IDR": "Dana komunitas",
    "community_fund:PI": "Dana komunitas",
    "community_fund:MSC": "Dana komunitas",
    "community_fund:MSCP": "Dana komunitas",
    "pioneer:{uid}:MSC": "Saldo Pioneer",
    "pioneer:{uid}:MSCP": "Saldo Poin Pioneer",
    "refunds:qris:IDR": "Pengembalian dana QRIS terutang",
    "mscp:authorised": "Poin MSC yang diotorisasi",
    "mscp:budget": "Anggaran Poin MSC",
    "expense:campaigns:IDR": "Beban kampanye Pi-Zone",
    "campaign:{campaign}:IDR": "Anggaran kampanye Pi-Zone",
    "msc:onchain": "MSC beredar di rantai (on-chain)",
    "msc:onchain:unmatched": "MSC dibakar tanpa referensi",
    "suspense:IDR": "Rekening penampungan (suspense)",
    "suspense:PI": "Rekening penampungan (suspense)",
    "suspense:MSC": "Rekening penampungan (suspense)",
    # issue 12 item 4 (issuance and redemption against Rupiah)
    "reserve:bank:IDR": "Kas di bank cadangan",
    "msc:deposits:IDR": "Setoran Rupiah belum diterbitkan sebagai MSC",
    "msc:backing:IDR": "Rupiah penjamin MSC beredar",
    "reserve:capital:IDR": "Modal cadangan treasury",
    "payable:redemptions:IDR": "Utang penukaran MSC",
    "msc:issued": "MSC yang diterbitkan",
    # issue 12 item 8 (the daily payout batch)
    "bank:payouts:IDR": "Kas bank keluar (pembayaran harian)",
    # issue 12 items 3, 6 and 7 (conversion at release, the guarantee fund)
    "exchange:PI": "Pi hasil penukaran treasury",
    "exchange:MSC": "MSC diterbitkan dalam penukaran",
    "exchange:IDR": "Rupiah dibayarkan dalam penukaran",
    "income:fx_gain:IDR": "Laba selisih kurs",
    "expense:fx_loss:IDR": "Rugi selisih kurs",
    "fund:bank:IDR": "Kas dana jaminan merchant",
    "fund:guarantee:IDR": "Dana jaminan merchant",
    "conversions:PI": "Pi diterima untuk konversi ke MSC",
    "income:conversion_fee:PI": "Pendapatan selisih konversi Pi",
    "locks:PI": "Pi yang dikunci Pioneer (kunci dan dapatkan)",
    "income:lock_penalty:PI": "Pendapatan denda buka kunci lebih awal",
    "income:mscp_breakage:MSCP": "Poin MSC kedaluwarsa (breakage)",
    "mscp:redeemed": "Poin MSC yang ditukar merchant",
    "expense:points_redeemed:IDR": "Beban penukaran Poin MSC oleh merchant",
}
"""Each chart pattern's line in Bahasa Indonesia (a test keeps every pattern named)."""
KIND_LABELS: Mapping[str, str] = {
    "asset": "Aset",
    "liability": "Liabilitas",
    "equity": "Ekuitas",
    "income": "Pendapatan",
    "expense": "Beban",
}


@dataclass(frozen=True, slots=True)
class AccountFigure:
    """One account's posted balance (neraca) or movement in the month (laba rugi)."""

    code: str
    amount_units: int


@dataclass(frozen=True, slots=True)
class Line:
    """One figure: a chart pattern in one asset, and the accounts it sums."""

    kind: str
    pattern: str
    label: str
    accounts: tuple[AccountFigure, ...]

    @property
    def amount_units(self) -> int:
        """The line's figure: its accounts summed."""
        return sum(a.amount_units for a in self.accounts)


@dataclass(frozen=True, slots=True)
class AssetBooks:
    """One asset's lines of one report, by kind."""

    asset: str
    lines: tuple[Line, ...]

    def total(self, kind: str) -> int:
        """The sum of the ``kind`` lines."""
        return sum(line.amount_units for line in self.lines if line.kind == kind)

    def of(self, kind: str) -> tuple[Line, ...]:
        """The ``kind`` lines, in the chart's order."""
        return tuple(line for line in self.lines if line.kind == kind)


@dataclass(frozen=True, slots=True)
class Neraca:
    """One asset's balance sheet at the month's end."""

    books: AssetBooks
    income_units: int
    """Income accumulated up to the month's end (every month so far)."""
    expense_units: int
    """Expense accumulated up to the month's end."""
    result_units: int
    """This month's income less expense (the laba rugi's result)."""

    @property
    def retained_units(self) -> int:
        """Income less expense of every month before this one (saldo laba)."""
        return self.income_units - self.expense_units - self.result_units

    @property
    def equity_units(self) -> int:
        """Equity accounts, saldo laba and the month's result."""
        return self.books.total("equity") + self.retained_units + self.result_units

    @property
    def liabilities_and_equity_units(self) -> int:
        """Liabilities plus equity: equal to the assets when the books balance."""
        return self.books.total("liability") + self.equity_units

    @property
    def balanced(self) -> bool:
        """Assets = liabilities + equity (with income less expense)."""
        return self.books.total("asset") == self.liabilities_and_equity_units

    def by_kind(self) -> dict[str, int]:
        """The totals by account kind, income and expense accumulated: what the audit bundle's
        ``reserves`` publish for the asset."""
        return {
            "asset": self.books.total("asset"),
            "liability": self.books.total("liability"),
            "equity": self.books.total("equity"),
            "income": self.income_units,
            "expense": self.expense_units,
        }


@dataclass(frozen=True, slots=True)
class LabaRugi:
    """One asset's income statement of the month (the month's movements)."""

    books: AssetBooks

    @property
    def result_units(self) -> int:
        """Income less expense: a profit if positive, a loss if negative."""
        return self.books.total("income") - self.books.total("expense")


@dataclass(frozen=True, slots=True)
class TrialBalance:
    """One asset's trial balance: posted debits and credits over every account."""

    asset: str
    debits_units: int
    credits_units: int

    @property
    def balanced(self) -> bool:
        """Every transfer debits what it credits, so the two totals agree."""
        return self.debits_units == self.credits_units


def posted(row: BalanceRow) -> int:
    """The account's posted balance in its normal direction (as the bundle's leaf)."""
    net = row.debits_posted - row.credits_posted
    return net if row.kind in DEBIT_NORMAL else -net


def label_of(pattern: str) -> str:
    """The pattern's line in Bahasa Indonesia (the pattern itself if none is declared)."""
    return LABELS.get(pattern, pattern)


def _books(
    asset: str, figures: Iterable[tuple[BalanceRow, int]], kinds: tuple[str, ...]
) -> AssetBooks:
    grouped: dict[tuple[str, str], list[AccountFigure]] = defaultdict(list)
    for row, amount in figures:
        if row.asset != asset or row.kind not in kinds:
            continue
        found = CHART.pattern_of(row.code)
        pattern = found.pattern if found is not None else row.code
        grouped[(row.kind, pattern)].append(AccountFigure(row.code, amount))
    order = {p.pattern: i for i, p in enumerate(CHART.accounts)}
    keys = sorted(grouped, key=lambda k: (kinds.index(k[0]), order.get(k[1], len(order)), k[1]))
    return AssetBooks(
        asset,
        tuple(
            Line(kind, pattern, label_of(pattern),
                 tuple(sorted(grouped[(kind, pattern)], key=lambda a: a.code)))
            for kind, pattern in keys
        ),
    )  # fmt: skip


def _accumulated(rows: Iterable[BalanceRow], asset: str, kind: str) -> int:
    return sum(posted(r) for r in rows if r.asset == asset and r.kind == kind)


def laba_rugi(end: Iterable[BalanceRow], before: Iterable[BalanceRow]) -> tuple[LabaRugi, ...]:
    """Per asset, the month's income and expense: balances at its end less those at the end of
    the month before (``before``)."""
    start = {r.code: posted(r) for r in before}
    moved = [(r, posted(r) - start.get(r.code, 0)) for r in end]
    return tuple(LabaRugi(_books(a, moved, LABA_RUGI_KINDS)) for a in ASSETS)


def neraca(end: Iterable[BalanceRow], before: Iterable[BalanceRow]) -> tuple[Neraca, ...]:
    """Per asset, the balance sheet at the month's end; ``before`` are the balances at the end
    of the month before (for the month's result)."""
    end, before = list(end), list(before)
    figures = [(r, posted(r)) for r in end]
    sheets = []
    for a in ASSETS:
        income, expense = _accumulated(end, a, "income"), _accumulated(end, a, "expense")
        earlier = _accumulated(before, a, "income") - _accumulated(before, a, "expense")
        sheets.append(
            Neraca(_books(a, figures, NERACA_KINDS), income, expense, income - expense - earlier)
        )
    return tuple(sheets)


def trial_balance(rows: Iterable[BalanceRow]) -> tuple[TrialBalance, ...]:
    """Per asset, posted debits and credits summed over every account."""
    debits: dict[str, int] = defaultdict(int)
    credits: dict[str, int] = defaultdict(int)
    for r in rows:
        debits[r.asset] += r.debits_posted
        credits[r.asset] += r.credits_posted
    return tuple(TrialBalance(a, debits[a], credits[a]) for a in ASSETS)
