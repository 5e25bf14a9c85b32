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
from settlement.checkout.rules import share_id
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
            " status, created_at, created_by, expires_at, auto_release_s, closed_at) VALUES (:id,"
            " :m, :price, :discount, :campaign, :status, :at, 'test', :expires, 3600, :closed)"
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
    """Release a hold as the checkout does: the merchant's part posted, the rest to the platform
    fee and the fund under the ids the release gives a leg's shares; one linked batch."""
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
            share_id(TransferCode.CHECKOUT_PLATFORM_FEE, leg),
            escrow,
            f"income:platform_fee:{asset}",
            fee,
            asset,
            TransferCode.CHECKOUT_PLATFORM_FEE,
            TransferFlags.LINKED,
        ),
        TransferRequest(
            share_id(TransferCode.CHECKOUT_COMMUNITY_FUND, leg),
            escrow,
            f"community_fund:{asset}",
            fund,
            asset,
            TransferCode.CHECKOUT_COMMUNITY_FUND,
        ),
    )


def sell_plate(uow: UnitOfWork, mid: str, *, discount: bool) -> str:
    """Bu Tin's plate: Rp 15.000, half Pi (0.5 PI) half QRIS (Rp 7.500, MDR Rp 22,50), paid,
    held, handed over and released with 1% platform fee and 0.5% community fund per leg."""
    now = uow.clock.now_us()
    cid = checkout_id()
    campaign = None
    if discount:
        campaign = "PZ" + uuid.uuid4().hex[:8]
        uow.conn.exec_driver_sql(
            "INSERT INTO campaigns (id, name, discount_bp, budget_units, cap_per_pioneer_day_units,"
            " cap_per_merchant_day_units, starts_at, ends_at, created_at, created_by) VALUES"
            f" ('{campaign}', 'Pi-Zone', 1000, 10000000, 1000000, 1000000, now(),"
            " now() + interval '30 days', now(), 'test')"
        )
    insert_checkout(
        uow.conn,
        cid,
        mid,
        price_units=1_500_000,
        status="released",
        at_us=now,
        closed_at_us=now + 1,
        discount_units=150_000 if discount else 0,
        campaign_id=campaign,
    )
    pi = insert_leg(
        uow.conn,
        cid,
        0,
        "PI",
        "PI",
        idr_units=750_000,
        amount_units=5_000_000,
        status="released",
        paid_at=from_us(now),
    )
    qr = insert_leg(
        uow.conn,
        cid,
        1,
        "QRIS",
        "IDR",
        idr_units=750_000,
        amount_units=750_000,
        status="released",
        paid_at=from_us(now),
        qris_payload="payload",
    )
    expectation = insert_qris_expectation(uow.conn, qr, 750_000, 2_250, now)
    pay_pi(uow, 5_000_000)
    pay_qris(uow, expectation, 750_000, 2_250)
    release(uow, hold(uow, mid, "PI", 5_000_000, pi), "PI", 5_000_000, 50_000, 25_000, pi)
    release(uow, hold(uow, mid, "IDR", 750_000, qr), "IDR", 750_000, 7_500, 3_750, qr)
    if campaign:
        fund_and_pay_discount(uow, mid, campaign, cid, 150_000)
    return cid


def fund_and_pay_discount(uow: UnitOfWork, mid: str, campaign: str, cid: str, units: int) -> None:
    open_account(uow.ledger, chart.campaign_budget(campaign))
    budget = f"campaign:{campaign}:IDR"
    reserved = uuid.uuid4()
    post(
        uow,
        TransferRequest(
            uuid.uuid4(),
            "expense:campaigns:IDR",
            budget,
            units,
            "IDR",
            TransferCode.CAMPAIGN_FUNDED,
        ),
    )
    post(
        uow,
        TransferRequest(
            reserved,
            budget,
            f"merchant:{mid}:IDR",
            units,
            "IDR",
            TransferCode.CAMPAIGN_DISCOUNT,
            TransferFlags.PENDING,
            external_ref=cid,
        ),
    )
    post(
        uow,
        TransferRequest(
            uuid.uuid4(),
            "",
            "",
            units,
            "IDR",
            TransferCode.CAMPAIGN_DISCOUNT,
            TransferFlags.POST_PENDING,
            pending_id=reserved,
        ),
    )
