"""MSC Points: the treasury funds the points budget that every issued point comes from.

``mscp:budget`` never goes below zero (the chart's flag), so cashback and rewards can only
issue points the treasury first moved there from ``mscp:authorised``: points never come from
nowhere, and an exhausted budget refuses new points rather than minting them.
"""

from __future__ import annotations

import uuid

from escrow.model import TransferRequest, transfer_id
from escrow.money import AMOUNT_OUT_OF_RANGE, UNITS_MAX, AmountRefused
from escrow.refusals import Refusal
from settlement import chart
from settlement.chart import TransferCode
from settlement.unit_of_work import UnitOfWork

FUNDING_NAMESPACE = "points.funded"
ASSET = "MSCP"
key_chars_max = 128
actor_chars_max = 64


class FundingRefused(Refusal):
    """The ledger refused the funding; ``code`` is its result code (e.g. the same key used
    before for another amount: ``exists_with_different_fields``)."""


def funding_id(key: str) -> uuid.UUID:
    """The funding transfer's id for the caller's idempotency ``key``."""
    return transfer_id(FUNDING_NAMESPACE, key)


def fund_budget(uow: UnitOfWork, units: int, by: str, key: str) -> uuid.UUID:
    """Move ``units`` points from ``mscp:authorised`` into ``mscp:budget`` (code
    ``points.funded``); the same ``key`` with the same amount and ``by`` is the same funding."""
    if isinstance(units, bool) or not isinstance(units, int) or not 0 < units <= UNITS_MAX:
        raise AmountRefused(AMOUNT_OUT_OF_RANGE, f"points to fund must be 1..{UNITS_MAX}")
    if not 1 <= len(key) <= key_chars_max or not 1 <= len(by) <= actor_chars_max:
        raise ValueError("a funding needs a key (1-128 chars) and who funds it (1-64 chars)")
    authorised = chart.open_account(uow.ledger, chart.mscp_authorised())
    budget = chart.open_account(uow.ledger, chart.mscp_budget())
    funding = funding_id(key)
    result = uow.ledger.post(
        TransferRequest(
            id=funding,
            debit=authorised.code,
            credit=budget.code,
            amount=units,
            asset=ASSET,
            code=TransferCode.POINTS_FUNDED,
            user_data={"by": by, "key": key},
        )
    )
    if not result.ok:
        code = str(result.code)
        raise FundingRefused(f"points funding {key!r} refused: {code}", code=code)
    return funding
