"""Pi-Zone campaigns: create (and fund), list, reserve a discount, resolve it.

The budget is a ledger account (``campaign:{id}:IDR``, never below zero) funded at creation
from ``expense:campaigns:IDR``. A discount is a pending transfer from it to the merchant,
reserved when the checkout is created: the ledger refuses a reservation the budget cannot
cover (``campaign_budget_exhausted``), and a reservation it accepted has its units held, so
it always posts at release, however many discounts are refused after it. A void (refund,
expiry) gives the units back to the budget.

Reservations of one campaign are serialised by locking the campaign's row, so the daily caps
are read and kept under that lock.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection

from escrow.calendar import business_day, from_us, to_us
from escrow.model import ResultCode, TransferFlags, TransferRequest, transfer_id
from escrow.sql import sql
from settlement import chart
from settlement.campaigns.model import (
    Campaign,
    CampaignRefused,
    CampaignRequest,
    Reservation,
    ReservationStatus,
    checked,
)
from settlement.chart import TransferCode
from settlement.unit_of_work import UnitOfWork

ASSET = "IDR"
FUNDED_NAMESPACE = "campaign.funded"
DISCOUNT_NAMESPACE = "campaign.discount"
campaigns_page_max = 100
actor_chars_max = 64

_COLUMNS = (
    "id, name, discount_bp, budget_units, cap_per_pioneer_day_units,"
    " cap_per_merchant_day_units, merchant_ids, starts_at, ends_at, created_by"
)


def create_campaign(uow: UnitOfWork, request: CampaignRequest, by: str) -> Campaign:
    """Store the campaign and fund its budget (``campaign.funded``) in this unit of work.
    The same id with the same fields is the same campaign (nothing new); with other fields it
    is ``campaign_exists``."""
    if not isinstance(by, str) or not 1 <= len(by) <= actor_chars_max:
        raise ValueError(f"by names who creates the campaign in 1 to {actor_chars_max} chars")
    campaign = checked(request)
    inserted = uow.conn.execute(
        sql(
            "INSERT INTO campaigns (id, name, discount_bp, budget_units,"
            " cap_per_pioneer_day_units, cap_per_merchant_day_units, merchant_ids,"
            " starts_at, ends_at, created_at, created_by)"
            " VALUES (:id, :name, :bp, :budget, :cap_pioneer, :cap_merchant, :merchants,"
            " :starts, :ends, :at, :by) ON CONFLICT (id) DO NOTHING RETURNING id"
        ),
        {
            "id": campaign.id,
            "name": campaign.name,
            "bp": campaign.discount_bp,
            "budget": campaign.budget_units,
            "cap_pioneer": campaign.cap_per_pioneer_day_units,
            "cap_merchant": campaign.cap_per_merchant_day_units,
            "merchants": sorted(campaign.merchant_ids) if campaign.merchant_ids else None,
            "starts": from_us(campaign.starts_at_us),
            "ends": from_us(campaign.ends_at_us),
            "at": from_us(uow.clock.now_us()),
            "by": by,
        },
    ).one_or_none()
    funded_by = by
    if inserted is None:
        stored = _row(uow.conn, campaign.id)
        if stored is None or _campaign(stored) != campaign:
            raise CampaignRefused("campaign_exists", f"campaign {campaign.id} has other fields")
        funded_by = stored.created_by  # a replay posts the very funding the first call did
    _fund(uow, campaign, funded_by)
    return campaign


def _fund(uow: UnitOfWork, campaign: Campaign, by: str) -> None:
    funding = chart.open_account(uow.ledger, chart.campaign_funding())
    budget = chart.open_account(uow.ledger, chart.campaign_budget(campaign.id))
    result = uow.ledger.post(
        TransferRequest(
            id=transfer_id(FUNDED_NAMESPACE, campaign.id),
            debit=funding.code,
            credit=budget.code,
            amount=campaign.budget_units,
            asset=ASSET,
            code=TransferCode.CAMPAIGN_FUNDED,
            user_data={"by": by},
        )
    )
    if not result.ok:
        code = str(result.code)
        raise CampaignRefused(code, f"the ledger refused funding campaign {campaign.id}: {code}")


def find_campaign(conn: Connection, campaign_id: str) -> Campaign | None:
    """The campaign with this id, if any."""
    row = _row(conn, campaign_id)
    return None if row is None else _campaign(row)


def list_campaigns(
    conn: Connection, *, after: str = "", limit: int = campaigns_page_max
) -> list[Campaign]:
    """Campaigns in id order after ``after`` (a page of at most ``limit``)."""
    rows = conn.execute(
        sql(f"SELECT {_COLUMNS} FROM campaigns WHERE id > :after ORDER BY id LIMIT :limit"),  # noqa: S608 - constant columns
        {"after": after, "limit": max(1, min(limit, campaigns_page_max))},
    ).all()
    return [_campaign(row) for row in rows]


def _row(conn: Connection, campaign_id: str, *, lock: bool = False) -> Any:  # noqa: ANN401 - a row
    lock_clause = " FOR UPDATE" if lock else ""
    return conn.execute(
        sql(f"SELECT {_COLUMNS} FROM campaigns WHERE id = :id{lock_clause}"),  # noqa: S608 - constant columns
        {"id": campaign_id},
    ).one_or_none()


def _campaign(row: Any) -> Campaign:  # noqa: ANN401 - a SQLAlchemy row
    return Campaign(
        row.id,
        row.name,
        row.discount_bp,
        row.budget_units,
        row.cap_per_pioneer_day_units,
        row.cap_per_merchant_day_units,
        frozenset(row.merchant_ids) if row.merchant_ids is not None else None,
        to_us(row.starts_at),
        to_us(row.ends_at),
    )


def reserve_discount(
    uow: UnitOfWork,
    *,
    campaign_id: str,
    checkout_id: str,
    merchant_id: str,
    pioneer_uid: str,
    price_units: int,
) -> Reservation:
    """Reserve the campaign's discount on a checkout: a pending ``campaign.discount`` from the
    budget to ``merchant:{mid}:IDR`` (no timeout) and its reservation row. Refused, with
    nothing written: ``campaign_unknown``, ``campaign_inactive``, ``campaign_not_for_merchant``,
    ``campaign_price_too_small``, ``campaign_cap_reached``, ``campaign_budget_exhausted``,
    ``campaign_reservation_conflict``. The same checkout asked again is the same reservation."""
    row = _row(uow.conn, campaign_id, lock=True)
    if row is None:
        raise CampaignRefused("campaign_unknown", f"no campaign {campaign_id!r}")
    campaign = _campaign(row)
    discount = campaign.discount_of(price_units)
    earlier = _reservation_row(uow.conn, checkout_id)
    if earlier is not None:
        asked = (campaign_id, merchant_id, pioneer_uid, discount)
        held = (earlier.campaign_id, earlier.merchant_id, earlier.pioneer_uid)
        if (*held, earlier.discount_units) != asked:
            raise CampaignRefused(
                "campaign_reservation_conflict", f"{checkout_id} holds another discount"
            )
        return _reservation(earlier)
    now_us = uow.clock.now_us()
    if not campaign.open_at(now_us):
        raise CampaignRefused("campaign_inactive", f"campaign {campaign_id} is not running")
    if not campaign.applies_to(merchant_id):
        raise CampaignRefused("campaign_not_for_merchant", f"not at merchant {merchant_id}")
    if discount <= 0:
        raise CampaignRefused("campaign_price_too_small", f"no whole sen off {price_units} sen")
    day = business_day(from_us(now_us))
    _check_caps(uow.conn, campaign, day, merchant_id, pioneer_uid, discount)
    reservation = Reservation(
        checkout_id,
        campaign_id,
        discount,
        transfer_id(DISCOUNT_NAMESPACE, checkout_id),
        chart.campaign_budget(campaign_id).code,
        chart.merchant_balance(merchant_id, ASSET).code,
    )
    _hold(uow, reservation, merchant_id)
    uow.conn.execute(
        sql(
            "INSERT INTO campaign_reservations (checkout_id, campaign_id, merchant_id,"
            " pioneer_uid, business_day, discount_units, transfer_id, created_at)"
            " VALUES (:checkout, :campaign, :merchant, :pioneer, :day, :discount, :transfer, :at)"
        ),
        {
            "checkout": checkout_id,
            "campaign": campaign_id,
            "merchant": merchant_id,
            "pioneer": pioneer_uid,
            "day": day,
            "discount": discount,
            "transfer": reservation.transfer_id,
            "at": from_us(now_us),
        },
    )
    return reservation


def _check_caps(
    conn: Connection,
    campaign: Campaign,
    day: date,
    merchant_id: str,
    pioneer_uid: str,
    discount: int,
) -> None:
    """Refuse a discount that would take this Pioneer's or this merchant's day past its cap."""
    taken = conn.execute(
        sql(
            "SELECT coalesce(sum(discount_units) FILTER (WHERE pioneer_uid = :pioneer), 0),"
            " coalesce(sum(discount_units) FILTER (WHERE merchant_id = :merchant), 0)"
            " FROM campaign_reservations WHERE campaign_id = :campaign AND business_day = :day"
            " AND status <> 'voided' AND (pioneer_uid = :pioneer OR merchant_id = :merchant)"
        ),
        {"campaign": campaign.id, "day": day, "pioneer": pioneer_uid, "merchant": merchant_id},
    ).one()
    pioneer_taken, merchant_taken = int(taken[0]), int(taken[1])
    if pioneer_taken + discount > campaign.cap_per_pioneer_day_units:
        raise CampaignRefused("campaign_cap_reached", f"Pioneer {pioneer_uid}'s cap for {day}")
    if merchant_taken + discount > campaign.cap_per_merchant_day_units:
        raise CampaignRefused("campaign_cap_reached", f"merchant {merchant_id}'s cap for {day}")


def _hold(uow: UnitOfWork, reservation: Reservation, merchant_id: str) -> None:
    """Post the pending discount; on the ledger's refusal undo the merchant account opened for
    it (a savepoint), so a refusal writes nothing."""
    with uow.conn.begin_nested():
        chart.ensure_open(uow.ledger, chart.merchant_balance(merchant_id, ASSET))
        result = uow.ledger.post(
            TransferRequest(
                id=reservation.transfer_id,
                debit=reservation.budget_account,
                credit=reservation.merchant_account,
                amount=reservation.discount_units,
                asset=ASSET,
                code=TransferCode.CAMPAIGN_DISCOUNT,
                flags=TransferFlags.PENDING,
                user_data={"checkout": reservation.checkout_id},
            )
        )
        if result.code == ResultCode.EXCEEDS_CREDITS:
            raise CampaignRefused(
                "campaign_budget_exhausted", f"campaign {reservation.campaign_id}'s budget"
            )
        if not result.ok:
            code = str(result.code)
            raise CampaignRefused(code, f"the ledger refused the discount: {code}")


def _reservation_row(conn: Connection, checkout_id: str) -> Any:  # noqa: ANN401 - a row
    return conn.execute(
        sql(
            "SELECT checkout_id, campaign_id, merchant_id, pioneer_uid, discount_units,"
            " transfer_id, status FROM campaign_reservations WHERE checkout_id = :checkout"
        ),
        {"checkout": checkout_id},
    ).one_or_none()


def _reservation(row: Any) -> Reservation:  # noqa: ANN401 - a SQLAlchemy row
    return Reservation(
        row.checkout_id,
        row.campaign_id,
        row.discount_units,
        row.transfer_id,
        chart.campaign_budget(row.campaign_id).code,
        chart.merchant_balance(row.merchant_id, ASSET).code,
    )


def reservation(conn: Connection, checkout_id: str) -> Reservation | None:
    """The discount reserved for ``checkout_id``, if any."""
    row = _reservation_row(conn, checkout_id)
    return None if row is None else _reservation(row)


def post_discount_request(r: Reservation) -> TransferRequest:
    """The request that pays the whole reserved discount to the merchant at release (the
    caller chains it, LINKED, into the release batch)."""
    return TransferRequest(
        id=transfer_id(DISCOUNT_NAMESPACE + ".post", r.checkout_id),
        debit=r.budget_account,
        credit=r.merchant_account,
        amount=r.discount_units,
        asset=ASSET,
        code=TransferCode.CAMPAIGN_DISCOUNT,
        flags=TransferFlags.POST_PENDING,
        pending_id=r.transfer_id,
    )


def void_discount_request(r: Reservation) -> TransferRequest:
    """The request that gives the reserved discount back to the budget (refund, expiry)."""
    return TransferRequest(
        id=transfer_id(DISCOUNT_NAMESPACE + ".void", r.checkout_id),
        debit=r.budget_account,
        credit=r.merchant_account,
        amount=0,
        asset=ASSET,
        code=TransferCode.CAMPAIGN_DISCOUNT,
        flags=TransferFlags.VOID_PENDING,
        pending_id=r.transfer_id,
    )


def mark_reservation(conn: Connection, checkout_id: str, status: str) -> None:
    """Record that the reservation was posted (``paid``) or voided, in the caller's
    transaction with the posting; marking it again the same way changes nothing."""
    to = ReservationStatus(status)
    if to is ReservationStatus.RESERVED:
        raise ValueError("a reservation is marked paid or voided")
    row = _reservation_row(conn, checkout_id)
    if row is None:
        raise LookupError(f"no reservation for checkout {checkout_id!r}")
    if row.status == to:
        return
    if row.status != ReservationStatus.RESERVED:
        raise ValueError(f"reservation {checkout_id} is {row.status}, cannot become {to}")
    conn.execute(
        sql("UPDATE campaign_reservations SET status = :to WHERE checkout_id = :checkout"),
        {"to": str(to), "checkout": checkout_id},
    )
