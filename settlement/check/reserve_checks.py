"""Reserve coverage: what was published recomputes from its own inputs, and the books now still
cover the MSC outstanding at the floor."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection

from escrow.sql import sql
from settlement.check.model import CheckResult, failed, held
from settlement.reserves import reserve

_PUBLISHED = sql(
    "SELECT pi_value_idr, reserve_value_idr, msc_outstanding, coverage_bps, below_floor"
    " FROM reserve_computations WHERE id = :id"
)


def reserve_coverage(conn: Connection) -> CheckResult:
    """The newest published computation's figures follow from its inputs, and the ledger's
    figures now, at the same price, haircut and floor, are not below the floor."""
    latest = reserve.latest(conn)
    if latest is None:
        return held("reserve_coverage", "no reserve computation published yet")
    published = tuple(conn.execute(_PUBLISHED, {"id": latest.id}).one())
    recomputed = (latest.pi_value_idr, latest.reserve_value_idr, latest.msc_outstanding,
                  latest.coverage_bps, latest.below_floor)  # fmt: skip
    if published != recomputed:
        return failed("reserve_coverage", f"computation {latest.id} published {published},"
                      f" its inputs give {recomputed}")  # fmt: skip
    now = replace(latest, figures=reserve.read_figures(conn), msc_issuing=0)
    if now.below_floor:
        return failed("reserve_coverage", f"coverage now {now.coverage_bps} bps is below the"
                      f" floor of {now.floor_bps} bps")  # fmt: skip
    return held("reserve_coverage", f"computation {latest.id} recomputes; coverage now"
                f" {now.coverage_bps} bps, floor {now.floor_bps} bps")  # fmt: skip
