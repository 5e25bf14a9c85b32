"""The once-only bonuses: onboarding (once per Pioneer) and referral (once per referred Pioneer,
to the referrer, when the referred completed a first payment). Sizes are treasury parameters.

A referral is registered once (``pioneer_referrals``: one referrer per Pioneer); the U2A
completion calls ``referral_on_payment`` for the payer, which grants the bonus the first time a
registered referred Pioneer's payment is posted. A bonus the treasury has not set, or the budget
cannot cover, is not granted then; a later payment tries again, and it is still granted once.
"""

from __future__ import annotations

import uuid

import structlog

from escrow.calendar import from_us
from escrow.sql import sql
from settlement import parameters
from settlement.mscp.issue import PointsRefused, issue
from settlement.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

REFERRAL_NOT_EARNED = "points_referral_not_earned"
REFERRAL_TAKEN = "points_referral_exists"


def _granted(uow: UnitOfWork, kind: str, subject: str) -> uuid.UUID | None:
    row = uow.conn.execute(
        sql("SELECT transfer_id FROM mscp_bonuses WHERE kind = :k AND subject = :s FOR UPDATE"),
        {"k": kind, "s": subject},
    ).first()
    return None if row is None else row.transfer_id


def _grant(uow: UnitOfWork, kind: str, subject: str, uid: str, parameter: str) -> uuid.UUID:
    uow.conn.execute(
        sql("SELECT pg_advisory_xact_lock(hashtextextended(:k || ':' || :s, 13))"),
        {"k": kind, "s": subject},
    )
    done = _granted(uow, kind, subject)
    if done is not None:
        return done
    units = parameters.points_parameter(uow.conn, parameter)
    if units == 0:
        raise PointsRefused(f"no {kind} bonus is set", code="points_bonus_not_set")
    issued = issue(uow, uid, units, kind, subject)
    uow.conn.execute(
        sql(
            "INSERT INTO mscp_bonuses (kind, subject, uid, transfer_id, granted_at)"
            " VALUES (:k, :s, :uid, :t, :at)"
        ),
        {"k": kind, "s": subject, "uid": uid, "t": issued, "at": from_us(uow.clock.now_us())},
    )
    return issued


def onboarding(uow: UnitOfWork, uid: str) -> uuid.UUID:
    """The onboarding bonus of ``uid``: issued the first time, the same transfer after."""
    return _grant(uow, "onboarding", uid, uid, parameters.MSCP_ONBOARDING_BONUS)


def referral(uow: UnitOfWork, referrer: str, referred: str) -> uuid.UUID:
    """The referral bonus to ``referrer`` for ``referred``, once per referred Pioneer, and only
    once ``referred`` completed a first Pi payment (``points_referral_not_earned`` before)."""
    if referrer == referred:
        raise PointsRefused("a Pioneer does not refer themselves", code=REFERRAL_NOT_EARNED)
    paid = uow.conn.execute(
        sql(
            "SELECT 1 FROM pi_payments WHERE user_uid = :u AND status IN ('credited', 'completed')"
            " LIMIT 1"
        ),
        {"u": referred},
    ).first()
    if paid is None:
        raise PointsRefused(f"{referred} completed no payment yet", code=REFERRAL_NOT_EARNED)
    return _grant(uow, "referral", referred, referrer, parameters.MSCP_REFERRAL_BONUS)


def register_referral(uow: UnitOfWork, referrer: str, referred: str, by: str) -> bool:
    """Record that ``referrer`` referred ``referred`` (once; the same again is a no-op, another
    referrer ``points_referral_exists``); True when ``referred`` already paid and the bonus was
    granted now."""
    if referrer == referred:
        raise PointsRefused("a Pioneer does not refer themselves", code=REFERRAL_NOT_EARNED)
    uow.conn.execute(
        sql(
            "INSERT INTO pioneer_referrals (referred, referrer, registered_at, registered_by)"
            " VALUES (:referred, :referrer, :at, :by) ON CONFLICT (referred) DO NOTHING"
        ),
        {"referred": referred, "referrer": referrer, "at": from_us(uow.clock.now_us()), "by": by},
    )
    found = _referrer_of(uow, referred)
    if found != referrer:
        raise PointsRefused(f"{referred} was referred by another", code=REFERRAL_TAKEN)
    return referral_on_payment(uow, referred)


def _referrer_of(uow: UnitOfWork, referred: str) -> str | None:
    row = uow.conn.execute(
        sql("SELECT referrer FROM pioneer_referrals WHERE referred = :r"), {"r": referred}
    ).first()
    return None if row is None else str(row.referrer)


def referral_on_payment(uow: UnitOfWork, payer: str) -> bool:
    """Grant the referral bonus for ``payer`` if they were referred, paid, and it is not granted
    yet; True when granted now. Refusals (bonus unset, budget short) leave it for a later try."""
    row = uow.conn.execute(
        sql(
            "SELECT r.referrer FROM pioneer_referrals r LEFT JOIN mscp_bonuses b"
            " ON b.kind = 'referral' AND b.subject = r.referred"
            " WHERE r.referred = :u AND b.subject IS NULL"
        ),
        {"u": payer},
    ).first()
    if row is None:
        return False
    try:
        with uow.conn.begin_nested():
            referral(uow, str(row.referrer), payer)
    except PointsRefused as refused:
        log.info("referral_bonus_not_granted", referred=payer, code=refused.code)
        return False
    return True
