"""Rows of issue 11's tables written directly by tests of the read models.

The checkout use cases are written elsewhere; the read models are written against the schema
(migration 0012) and the chart's transfer codes, so their tests insert merchants, checkouts,
legs and refunds with SQL and post the ledger transfers a release would post.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, text

from escrow.calendar import from_us
from escrow.model import TransferFlags, TransferRequest, transfer_id
from settlement import chart
from settlement.chart import TransferCode, open_account
from settlement.qris.posting import MDR_NAMESPACE
from settlement.unit_of_work import UnitOfWork


def merchant_id() -> str:
    """A fresh merchant id (tests that commit must not collide)."""
    return "T" + uuid.uuid4().hex[:12].upper()


def checkout_id() -> str:
    """A fresh checkout id of the schema's shape."""
    return "co_" + uuid.uuid4().hex[:16]


def insert_merchant(
    conn: Connection,
    mid: str,
    *,
    kelurahan: str = "Kelurahan A",
    name: str = "Pecel Bu Tin",
    nmid: str | None = None,
) -> None:
    conn.execute(
        text(
            "INSERT INTO merchants (id, name, kelurahan, rt, nmid, static_qris, tenders,"
            " created_at, created_by) VALUES (:id, :name, :kel, '01', :nmid, 'static-payload',"
            " ARRAY['PI', 'QRIS', 'MSC', 'MSCP'], now(), 'test')"
        ),
        {"id": mid, "name": name, "kel": kelurahan, "nmid": nmid},
    )


def insert_checkout(
    conn: Connection,
    cid: str,
    mid: str,
    *,
    price_units: int,
    status: str,
    at_us: int,
    closed_at_us: int | None = None,
    discount_units: int = 0,
    campaign_id: str | None = None,
) -> None:
    at = from_us(at_us)
    conn.execute(
        text(
            "INSERT INTO checkouts (id, merchant_id, price_units, discount_units, campaign_id,"
            " status, created_at, created_by, expires_at, closed_at) VALUES (:id, :m, :price,"
            " :discount, :campaign, :status, :at, 'test', :expires, :closed)"
        ),
        {
            "id": cid,
            "m": mid,
            "price": price_units,
            "discount": discount_units,
            "campaign": campaign_id,
            "status": status,
            "at": at,
            "expires": from_us(at_us + 600_000_000),
            "closed": None if closed_at_us is None else from_us(closed_at_us),
        },
    )


LEG_SUFFIX = {"PI": "pi", "QRIS": "qr", "MSC": "msc", "MSCP": "pts"}


def insert_leg(
    conn: Connection,
    cid: str,
    position: int,
    tender: str,
    asset: str,
    *,
    idr_units: int,
    amount_units: int,
    status: str,
    paid_at: datetime | None = None,
    qris_payload: str | None = None,
) -> str:
    reference = f"{cid}-{LEG_SUFFIX[tender]}"
    conn.execute(
        text(
            "INSERT INTO checkout_legs (reference, checkout_id, position, tender, asset, share_bp,"
            " idr_units, amount_units, status, paid_at, qris_payload) VALUES (:ref, :c, :pos,"
            " :tender, :asset, 5000, :idr, :amount, :status, :paid_at, :payload)"
        ),
        {
            "ref": reference,
            "c": cid,
            "pos": position,
            "tender": tender,
            "asset": asset,
            "idr": idr_units,
            "amount": amount_units,
            "status": status,
            "paid_at": paid_at,
            "payload": qris_payload,
        },
    )
    return reference


def insert_qris_expectation(
    conn: Connection, reference: str, gross_sen: int, fee_sen: int, at_us: int
) -> uuid.UUID:
    """The paid QRIS expectation of a checkout's QRIS leg (its reference is the leg's)."""
    expectation = uuid.uuid4()
    conn.execute(
        text(
            "INSERT INTO qris_expectations (id, reference, nmid, criteria, amount_sen,"
            " credit_account, status, created_at, expires_at, paid_at, gross_sen, fee_sen,"
            " transfer_id, purpose) VALUES (:id, :ref, 'ID1020000000001', 'UMI', :gross,"
            " 'escrow:checkout:IDR', 'paid', :at, :exp, :at, :gross, :fee, :tid, 'checkout')"
        ),
        {
            "id": expectation,
            "ref": reference,
            "gross": gross_sen,
            "fee": fee_sen,
            "at": from_us(at_us),
            "exp": from_us(at_us + 600_000_000),
            "tid": uuid.uuid4(),
        },
    )
    return expectation


def insert_refund(
    conn: Connection, cid: str, leg: str, *, reason: str, asset: str, units: int, at_us: int
) -> None:
    conn.execute(
        text(
            "INSERT INTO checkout_refunds (transfer_id, checkout_id, leg_reference, cause, reason,"
            " asset, amount_units, destination, status, created_at) VALUES (:tid, :c, :leg,"
            " :cause, :reason, :asset, :units, 'refunds:qris:IDR', 'owed', :at)"
        ),
        {
            "tid": uuid.uuid4(),
            "c": cid,
            "leg": leg,
            "cause": f"test:{uuid.uuid4()}",
            "reason": reason,
            "asset": asset,
            "units": units,
            "at": from_us(at_us),
        },
    )


def open_checkout_accounts(uow: UnitOfWork, mid: str) -> None:
    """Every account a checkout of ``mid`` touches, in each asset."""
    for spec in (
        chart.pi_custody(),
        chart.qris_clearing(),
        chart.qris_mdr(),
        chart.campaign_funding(),
        chart.mscp_authorised(),
        chart.mscp_budget(),
    ):
        open_account(uow.ledger, spec)
    for asset in ("IDR", "PI", "MSC", "MSCP"):
        for spec in (
            chart.checkout_escrow(asset),
            chart.platform_fee(asset),
            chart.community_fund(asset),
            chart.merchant_balance(mid, asset),
        ):
            open_account(uow.ledger, spec)
    for asset in ("IDR", "PI", "MSC"):
        open_account(uow.ledger, chart.suspense(asset))


def post(uow: UnitOfWork, *requests: TransferRequest) -> None:
    """Post ``requests`` as one batch; each must be OK."""
    results = uow.ledger.post_batch(list(requests))
    assert all(r.ok for r in results), results


def pay_pi(uow: UnitOfWork, units: int) -> None:
    """A Pi leg arrives in the checkout escrow (the Pi rail's ``pi.received``)."""
    post(
        uow,
        TransferRequest(
            uuid.uuid4(),
            "treasury:pi_custody",
            "escrow:checkout:PI",
            units,
            "PI",
            TransferCode.PI_RECEIVED,
        ),
    )


def pay_qris(uow: UnitOfWork, expectation: uuid.UUID, gross: int, fee: int) -> None:
    """A QRIS leg arrives in the checkout escrow, net and MDR (the QRIS rail's receipt)."""
    post(
        uow,
        TransferRequest(
            uuid.uuid4(),
            "qris:clearing:IDR",
            "escrow:checkout:IDR",
            gross - fee,
            "IDR",
            TransferCode.QRIS_RECEIVED,
            TransferFlags.LINKED,
        ),
        TransferRequest(
            transfer_id(MDR_NAMESPACE, str(expectation)),
            "expense:qris:mdr:IDR",
            "escrow:checkout:IDR",
            fee,
            "IDR",
            TransferCode.QRIS_MDR,
        ),
    )


def hold(uow: UnitOfWork, mid: str, asset: str, units: int, leg: str) -> uuid.UUID:
    """The paid leg held for the merchant (pending)."""
    held = transfer_id("test.hold", leg)
    post(
        uow,
        TransferRequest(
            held,
            f"escrow:checkout:{asset}",
            f"merchant:{mid}:{asset}",
            units,
            asset,
            TransferCode.CHECKOUT_HOLD,
            TransferFlags.PENDING,
            external_ref=leg,
        ),
    )
    return held


def release(
    uow: UnitOfWork, held: uuid.UUID, asset: str, units: int, fee: int, fund: int, leg: str
) -> None:
    """Release a hold: the merchant's part posted, the rest to the platform fee and the fund,
    every share naming the leg in ``external_ref``: one linked batch."""
    escrow = f"escrow:checkout:{asset}"
    post(
        uow,
        TransferRequest(
            uuid.uuid4(),
            "",
            "",
            units - fee - fund,
            asset,
            TransferCode.CHECKOUT_RELEASE,
            TransferFlags.POST_PENDING | TransferFlags.LINKED,
            pending_id=held,
            external_ref=leg,
        ),
        TransferRequest(
            uuid.uuid4(),
            escrow,
            f"income:platform_fee:{asset}",
            fee,
            asset,
            TransferCode.CHECKOUT_PLATFORM_FEE,
            TransferFlags.LINKED,
            external_ref=leg,
        ),
        TransferRequest(
            uuid.uuid4(),
            escrow,
            f"community_fund:{asset}",
            fund,
            asset,
            TransferCode.CHECKOUT_COMMUNITY_FUND,
            external_ref=leg,
        ),
    )
