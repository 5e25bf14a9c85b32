"""Issuing MSC Points: only from the points budget, only by a rule, once per rule's key.

Every issuance is one transfer ``mscp:budget`` -> ``pioneer:{uid}:MSCP`` whose id derives from
the rule's key, and one lot (``settlement.mscp.lots``). The budget never goes below zero (the
chart's flag) and what open locks reserved is not available to it, so a budget that cannot
cover the points refuses them (``points_budget_exhausted``) and nothing is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from escrow.errors import InvariantViolation
from escrow.model import ResultCode, TransferRequest, transfer_id
from escrow.refusals import Refusal
from escrow.rules import batch_transfers_max
from settlement import chart
from settlement.chart import TransferCode
from settlement.mscp import lots
from settlement.unit_of_work import UnitOfWork

ISSUE_NAMESPACE = "points.issued"
ASSET = "MSCP"
_CODES = {
    "onboarding": TransferCode.POINTS_BONUS,
    "referral": TransferCode.POINTS_BONUS,
    "data_dividend": TransferCode.POINTS_DIVIDEND,
}


class PointsRefused(Refusal, ValueError):
    """Points refused: ``points_budget_exhausted``, ``points_bonus_not_set``,
    ``points_insufficient``, ``points_value_not_set``."""

    code = "points_budget_exhausted"


def issue_id(source: str, key: str) -> uuid.UUID:
    """The transfer that issues the points of rule ``source`` for ``key``."""
    return transfer_id(ISSUE_NAMESPACE, f"{source}:{key}")


def issue(uow: UnitOfWork, uid: str, units: int, source: str, key: str) -> uuid.UUID:
    """Issue ``units`` points to ``uid`` by rule ``source`` (once per ``key``)."""
    if units <= 0:
        raise InvariantViolation(f"an issuance of {units} points")
    budget, points = chart.mscp_budget(), chart.pioneer_balance(uid, ASSET)
    chart.ensure_open(uow.ledger, budget)
    chart.ensure_open(uow.ledger, points)
    issued = issue_id(source, key)
    result = uow.ledger.post(
        TransferRequest(
            issued, budget.code, points.code, units, ASSET, _CODES[source],
            user_data={"rule": source, "key": key},
        )
    )  # fmt: skip
    if result.code is ResultCode.EXCEEDS_CREDITS:
        raise PointsRefused(f"the points budget cannot cover {units} points")
    if not result.ok:
        raise InvariantViolation(f"the ledger refused issuing {key}: {result.code}")
    lots.record(uow, uid, source, issued, units)
    return issued


def issue_many(uow: UnitOfWork, lines: Sequence[tuple[str, int, str]], source: str) -> int:
    """Issue each ``(uid, units, key)`` of ``lines`` by rule ``source``, in ledger batches, all
    or nothing (``points_budget_exhausted`` posts none); the points issued. The accounts are
    opened before the savepoint, so a refusal never takes back an account the unit of work
    knows as open."""
    budget = chart.mscp_budget()
    chart.ensure_open(uow.ledger, budget)
    for uid, _, _ in lines:
        chart.ensure_open(uow.ledger, chart.pioneer_balance(uid, ASSET))
    with uow.conn.begin_nested():  # a refused batch takes back those before it
        for start in range(0, len(lines), batch_transfers_max):
            chunk = lines[start : start + batch_transfers_max]
            requests = [
                TransferRequest(
                    issue_id(source, key), budget.code, chart.pioneer_balance(uid, ASSET).code,
                    units, ASSET, _CODES[source], user_data={"rule": source, "key": key},
                )
                for uid, units, key in chunk
            ]  # fmt: skip
            results = uow.ledger.post_batch(requests)
            if any(r.code is ResultCode.EXCEEDS_CREDITS for r in results):
                raise PointsRefused(f"the points budget cannot cover these {len(lines)} issuances")
            refused = next((r for r in results if not r.ok), None)
            if refused is not None:
                raise InvariantViolation(f"the ledger refused issuing {source}: {refused.code}")
            lots.record_many(uow, [(uid, r.id, units) for (uid, units, _), r in
                                   zip(chunk, requests, strict=True)], source)  # fmt: skip
    return sum(units for _, units, _ in lines)
