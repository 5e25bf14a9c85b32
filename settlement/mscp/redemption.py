"""A merchant redeems MSC Points for Rupiah at the treasury's point value, paid by the payout
batch: one linked pair keyed by the merchant's idempotency key, the points retired
(``merchant:{id}:MSCP`` -> ``mscp:redeemed``) and their value credited to the merchant's Rupiah
(``expense:points_redeemed:IDR`` -> ``merchant:{id}:IDR``), which the day's payout batch pays."""

from __future__ import annotations

import uuid
from typing import Any

from escrow.calendar import from_us
from escrow.errors import InvariantViolation
from escrow.model import TransferRequest, transfer_id
from escrow.money import IDR, UNITS_MAX, format_amount
from escrow.sql import sql
from settlement import chart, parameters
from settlement.chart import TransferCode
from settlement.checkout.rules import linked
from settlement.mscp.issue import PointsRefused
from settlement.unit_of_work import UnitOfWork

NAMESPACE = "points.redeemed"
SHORT = "points_insufficient"


def redeem(uow: UnitOfWork, merchant_id: str, points: int, key: str) -> dict[str, Any]:
    """Redeem ``points`` of ``merchant_id`` (once per ``key``). Refused, nothing written:
    ``points_value_not_set``, ``points_insufficient``."""
    found = uow.conn.execute(
        sql(
            "SELECT id, points, idr_units, transfer_id, requested_at FROM point_redemptions"
            " WHERE merchant_id = :m AND idempotency_key = :k"
        ),
        {"m": merchant_id, "k": key},
    ).first()
    if found is not None:
        return _view(found, merchant_id)
    value = parameters.point_value_idr_units(uow.conn)
    if value is None:
        raise PointsRefused("no point value is set", code="points_value_not_set")
    if not 0 < points <= UNITS_MAX // value:
        raise PointsRefused(f"{points} points", code=SHORT)
    idr = points * value
    held, redeemed = chart.merchant_balance(merchant_id, "MSCP"), chart.mscp_redeemed()
    cost, owed = chart.points_redemption_cost(), chart.merchant_balance(merchant_id, "IDR")
    for spec in (held, redeemed, cost, owed):
        chart.ensure_open(uow.ledger, spec)
    uow.conn.execute(  # the merchant's points account may go negative: check under a lock
        sql("SELECT pg_advisory_xact_lock(hashtextextended(:m, 29))"), {"m": held.code}
    )
    if uow.ledger.balance(held.code).available < points:
        raise PointsRefused(f"{merchant_id} holds fewer than {points} points", code=SHORT)
    retire = transfer_id(NAMESPACE, f"{merchant_id}:{key}")
    results = uow.ledger.post_batch(linked([
        TransferRequest(retire, held.code, redeemed.code, points, "MSCP",
                        TransferCode.POINTS_REDEEMED, user_data={"key": key}),
        TransferRequest(transfer_id(NAMESPACE + ".idr", f"{merchant_id}:{key}"), cost.code,
                        owed.code, idr, "IDR", TransferCode.POINTS_REDEEMED),
    ]))  # fmt: skip
    if not all(r.ok for r in results):
        raise InvariantViolation(f"the ledger refused redeeming {key}: {results[0].code}")
    row = uow.conn.execute(
        sql(
            "INSERT INTO point_redemptions (id, merchant_id, idempotency_key, points, idr_units,"
            " transfer_id, requested_at) VALUES (:id, :m, :k, :p, :idr, :t, :at)"
            " RETURNING id, points, idr_units, transfer_id, requested_at"
        ),
        {
            "id": uuid.uuid4(), "m": merchant_id, "k": key, "p": points, "idr": idr,
            "t": retire, "at": from_us(uow.clock.now_us()),
        },
    ).one()  # fmt: skip
    return _view(row, merchant_id)


def _view(row: Any, merchant_id: str) -> dict[str, Any]:  # noqa: ANN401 - a SQLAlchemy Row
    return {
        "id": str(row.id),
        "merchant_id": merchant_id,
        "points": int(row.points),
        "idr_amount": format_amount(int(row.idr_units), IDR.scale),
        "idr_units": int(row.idr_units),
        "transfer_id": str(row.transfer_id),
        "requested_at": row.requested_at.isoformat(),
    }
