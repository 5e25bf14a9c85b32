"""Reserve coverage computed from the ledger and the latest Pi price, each computation stored.

Figures (decision 0024), all posted balances:
- IDR reserve: ``reserve:bank:IDR`` less the unissued deposits (``msc:deposits:IDR``) and the
  redemptions owed (``payable:redemptions:IDR``): Rupiah at the bank owed to nobody but holders.
- Pi inventory: the Pi the treasury owns, custody less every Pi liability. By double entry that
  is the credit balance of the PI equity, income and expense accounts, a handful of rows.
- MSC outstanding: every MSC held in the ledger or on chain (the liability and income accounts,
  ``msc:onchain`` included). By double entry: the debit balance of the MSC asset, equity and
  expense accounts (``msc:issued`` and the conversions' exchange account).

``require_coverage`` is what every issuer of MSC calls before it posts (issuance against Rupiah
here, the conversion of Pi): below the floor it refuses with ``reserve_coverage_below_floor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, bindparam, text

from chain.rates.ports import PriceObservation
from escrow.calendar import US_PER_S, from_us, to_us
from escrow.refusals import Refusal
from settlement import chart, parameters
from settlement.rates.median import RateRefused, age_s_max_default
from settlement.rates.panel import RatePanel, current_price
from settlement.reserves.coverage import (
    ReserveFigures,
    coverage_bps,
    meets_floor,
    pi_value_idr,
)
from settlement.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

ISSUERS_LOCK = "msc.issuers"
ISSUERS_LOCK_SEED = 7305012
"""The advisory lock every issuer of MSC holds from its coverage check to its commit."""
history_page_max = 100
"""Computations per page of the published history."""
purpose_chars_max = 32


class CoverageBelowFloor(Refusal, RuntimeError):
    """Issuing would leave (or finds) the reserve coverage below the treasury's floor."""

    code = "reserve_coverage_below_floor"


@dataclass(frozen=True, slots=True)
class ReserveComputation:
    """One computation with every input it used; ``coverage_bps`` is None with nothing out."""

    id: int | None
    computed_at_us: int
    purpose: str
    figures: ReserveFigures
    price: PriceObservation | None
    haircut_bps: int
    floor_bps: int
    msc_issuing: int

    @property
    def pi_value_idr(self) -> int:
        """Sen the Pi inventory counts for (floored)."""
        price = None if self.price is None else self.price.price_units
        return pi_value_idr(self.figures.pi_inventory, price, self.haircut_bps)

    @property
    def reserve_value_idr(self) -> int:
        """IDR reserve plus the Pi's counted value, sen (equals MSC sen: 1 MSC = Rp 1)."""
        return self.figures.idr_reserve + self.pi_value_idr

    @property
    def msc_outstanding(self) -> int:
        """MSC in the ledger and on chain, plus what is being issued, in sen."""
        return self.figures.msc_ledger + self.figures.msc_onchain + self.msc_issuing

    @property
    def coverage_bps(self) -> int | None:
        """floor(reserve / outstanding) in basis points."""
        return coverage_bps(self.reserve_value_idr, self.msc_outstanding)

    @property
    def below_floor(self) -> bool:
        """True when reserve / outstanding < floor (exact)."""
        return not meets_floor(self.reserve_value_idr, self.msc_outstanding, self.floor_bps)

    def view(self) -> dict[str, Any]:
        """The computation as published (amounts in smallest units)."""
        f, p = self.figures, self.price
        return {
            "id": self.id,
            "computed_at": from_us(self.computed_at_us).isoformat(),
            "purpose": self.purpose,
            "idr_bank": f.idr_bank,
            "idr_deposits_unissued": f.idr_deposits_unissued,
            "idr_redemptions_payable": f.idr_redemptions_payable,
            "idr_reserve": f.idr_reserve,
            "pi_inventory": f.pi_inventory,
            "price": None
            if p is None
            else {
                "price_units": p.price_units,
                "source": p.source,
                "observed_at": from_us(p.observed_at_us).isoformat(),
            },
            "haircut_bps": self.haircut_bps,
            "pi_value_idr": self.pi_value_idr,
            "reserve_value_idr": self.reserve_value_idr,
            "msc_ledger": f.msc_ledger,
            "msc_onchain": f.msc_onchain,
            "msc_issuing": self.msc_issuing,
            "msc_outstanding": self.msc_outstanding,
            "coverage_bps": self.coverage_bps,
            "floor_bps": self.floor_bps,
            "below_floor": self.below_floor,
        }


def reserve_price(uow: UnitOfWork, panel: RatePanel) -> PriceObservation | None:
    """The Pi price the reserve is valued at: the median of the rate panel's fresh sources, the
    one place the reserve asks for a price (ask it before locking anything). None when the panel
    refuses a price (too few fresh sources, or too far apart)."""
    try:
        median = current_price(uow, panel, "PI", "IDR")
    except RateRefused:
        return None
    return PriceObservation("PI", "IDR", median.price_units, median.observed_at_us, median.source)


def latest_recorded_price(conn: Connection, now_us: int) -> PriceObservation | None:
    """The newest recorded PI/IDR quote's price if still fresh (for callers without a source)."""
    row = conn.execute(
        text(
            "SELECT price_units, source, observed_at FROM rate_quotes WHERE base_asset = 'PI'"
            " AND quote_asset = 'IDR' AND observed_at >= :since"
            " ORDER BY observed_at DESC LIMIT 1"
        ),
        {"since": from_us(now_us - _age_max_us())},
    ).first()
    if row is None:
        return None
    return PriceObservation("PI", "IDR", int(row.price_units), to_us(row.observed_at), row.source)


def _age_max_us() -> int:
    return age_s_max_default * US_PER_S


def read_figures(conn: Connection) -> ReserveFigures:
    """The ledger's reserve figures now (posted balances; read-only)."""
    named = {
        str(row.code): int(row.balance)
        for row in conn.execute(
            text(
                "SELECT code, CASE WHEN kind IN ('asset', 'expense')"
                " THEN debits_posted - credits_posted ELSE credits_posted - debits_posted END"
                " AS balance FROM accounts WHERE code IN :codes"
            ).bindparams(bindparam("codes", expanding=True)),
            {"codes": list(_NAMED)},
        )
    }
    sums = conn.execute(
        text(
            "SELECT"
            " coalesce(sum(credits_posted - debits_posted) FILTER (WHERE asset = 'PI'), 0) AS pi,"
            " coalesce(sum(debits_posted - credits_posted) FILTER (WHERE asset = 'MSC'), 0)"
            " AS msc FROM accounts WHERE kind <> 'liability' AND ("
            " (asset = 'PI' AND kind IN ('equity', 'income', 'expense'))"
            " OR (asset = 'MSC' AND kind IN ('asset', 'equity', 'expense')))"
        )
    ).one()
    onchain = named.get(_ONCHAIN, 0)
    return ReserveFigures(
        idr_bank=named.get(_BANK, 0),
        idr_deposits_unissued=named.get(_DEPOSITS, 0),
        idr_redemptions_payable=named.get(_PAYABLE, 0),
        pi_inventory=int(sums.pi),
        msc_ledger=int(sums.msc) - onchain,
        msc_onchain=onchain,
    )


_BANK = chart.reserve_bank().code
_DEPOSITS = chart.msc_deposits().code
_PAYABLE = chart.redemptions_payable().code
_ONCHAIN = chart.msc_onchain().code
_NAMED = (_BANK, _DEPOSITS, _PAYABLE, _ONCHAIN)


def compute(
    uow: UnitOfWork, price: PriceObservation | None, purpose: str, *, issuing_msc: int = 0
) -> ReserveComputation:
    """Compute coverage now (as if ``issuing_msc`` more were outstanding) and store it.

    ``price`` values the Pi; without one, the newest fresh recorded quote does, and without
    that the Pi counts for nothing (recorded with no price)."""
    if not 1 <= len(purpose) <= purpose_chars_max or issuing_msc < 0:
        raise ValueError("a computation names its purpose and issues >= 0")
    conn = uow.conn
    if price is None:
        price = latest_recorded_price(conn, uow.clock.now_us())
    found = ReserveComputation(
        None,
        uow.clock.now_us(),
        purpose,
        read_figures(conn),
        price,
        parameters.reserve_haircut_bps(conn),
        parameters.reserve_floor_bps(conn),
        issuing_msc,
    )
    stored = _store(conn, found)
    _log(stored)
    return stored


def require_coverage(
    uow: UnitOfWork, price: PriceObservation | None = None, *, issuing_msc: int = 0
) -> ReserveComputation:
    """Refuse (``reserve_coverage_below_floor``) unless the reserve covers the MSC outstanding
    plus ``issuing_msc`` at the floor. Call it before posting new MSC (naming ``issuing_msc``,
    or with 0 to check the state now) and, to check the state after, again after posting in a
    savepoint that the refusal rolls back. Without ``price`` the newest recorded fresh Pi quote
    values the Pi (none: the Pi counts for nothing).

    It takes the issuers' transaction-level lock first: two issuers never both check against a
    state without the other's MSC (each reads what the one before committed)."""
    uow.conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, :seed))"),
        {"name": ISSUERS_LOCK, "seed": ISSUERS_LOCK_SEED},
    )
    found = compute(uow, price, "issuance", issuing_msc=issuing_msc)
    if found.below_floor:
        raise CoverageBelowFloor(
            f"coverage {found.coverage_bps} bps after issuing {issuing_msc} sen is below the"
            f" floor of {found.floor_bps} bps"
        )
    return found


def attested_amount(found: ReserveComputation) -> int:
    """The MSC sen an on-chain reserve attestation states: the reserve's Rupiah value (1 MSC =
    Rp 1), never below zero; the token mints only while its supply stays at or under it."""
    return max(found.reserve_value_idr, 0)


def _store(conn: Connection, found: ReserveComputation) -> ReserveComputation:
    v, p = found.view(), found.price
    row_id = conn.execute(
        text(
            "INSERT INTO reserve_computations (computed_at, purpose, idr_bank,"
            " idr_deposits_unissued, idr_redemptions_payable, idr_reserve, pi_inventory,"
            " price_units, price_source, price_observed_at, haircut_bps, floor_bps,"
            " pi_value_idr, reserve_value_idr, msc_ledger, msc_onchain, msc_issuing,"
            " msc_outstanding, coverage_bps, below_floor) VALUES (:at, :purpose, :idr_bank,"
            " :idr_deposits_unissued, :idr_redemptions_payable, :idr_reserve, :pi_inventory,"
            " :price_units, :price_source, :price_observed_at, :haircut_bps, :floor_bps,"
            " :pi_value_idr, :reserve_value_idr, :msc_ledger, :msc_onchain, :msc_issuing,"
            " :msc_outstanding, :coverage_bps, :below_floor) RETURNING id"
        ),
        {
            **{k: val for k, val in v.items() if k not in ("id", "computed_at", "price")},
            "at": from_us(found.computed_at_us),
            "price_units": None if p is None else p.price_units,
            "price_source": None if p is None else p.source,
            "price_observed_at": None if p is None else from_us(p.observed_at_us),
        },
    ).scalar_one()
    return ReserveComputation(
        int(row_id),
        found.computed_at_us,
        found.purpose,
        found.figures,
        found.price,
        found.haircut_bps,
        found.floor_bps,
        found.msc_issuing,
    )


def _log(found: ReserveComputation) -> None:
    fields = {
        "computation": found.id,
        "purpose": found.purpose,
        "coverage_bps": found.coverage_bps,
        "floor_bps": found.floor_bps,
        "reserve_value_idr": found.reserve_value_idr,
        "msc_outstanding": found.msc_outstanding,
    }
    if found.below_floor:
        log.warning("reserve_coverage_below_floor", **fields)
    else:
        log.info("reserve_computed", **fields)


_COLUMNS = (
    "id, computed_at, purpose, idr_bank, idr_deposits_unissued, idr_redemptions_payable,"
    " pi_inventory, price_units, price_source, price_observed_at, haircut_bps, floor_bps,"
    " msc_ledger, msc_onchain, msc_issuing"
)


def history(
    conn: Connection, before_id: int | None = None, limit: int = history_page_max
) -> list[ReserveComputation]:
    """Stored computations, newest first, a page at a time (resume before the last id)."""
    if not 0 < limit <= history_page_max:
        raise ValueError(f"page size must be 1..{history_page_max}")
    rows = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM reserve_computations"  # noqa: S608 - constant columns
            " WHERE (CAST(:before AS bigint) IS NULL OR id < :before)"
            " ORDER BY id DESC LIMIT :limit"
        ),
        {"before": before_id, "limit": limit},
    ).all()
    return [_of_row(row) for row in rows]


def latest(conn: Connection) -> ReserveComputation | None:
    """The newest stored computation."""
    found = history(conn, limit=1)
    return found[0] if found else None


def _of_row(row: Any) -> ReserveComputation:  # noqa: ANN401 - a SQLAlchemy Row
    observed: datetime | None = row.price_observed_at
    price = (
        None
        if row.price_units is None or observed is None
        else PriceObservation(
            "PI", "IDR", int(row.price_units), to_us(observed), str(row.price_source)
        )
    )
    figures = ReserveFigures(
        int(row.idr_bank),
        int(row.idr_deposits_unissued),
        int(row.idr_redemptions_payable),
        int(row.pi_inventory),
        int(row.msc_ledger),
        int(row.msc_onchain),
    )
    return ReserveComputation(
        int(row.id),
        to_us(row.computed_at),
        str(row.purpose),
        figures,
        price,
        int(row.haircut_bps),
        int(row.floor_bps),
        int(row.msc_issuing),
    )
