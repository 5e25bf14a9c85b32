"""The once-only bonuses: onboarding (once per Pioneer) and referral (once per referred Pioneer,
to the referrer, when the referred completed a first payment). Sizes are treasury parameters."""

from __future__ import annotations

import uuid

from escrow.calendar import from_us
from escrow.sql import sql
from settlement import parameters
from settlement.mscp.issue import PointsRefused, issue
from settlement.unit_of_work import UnitOfWork

REFERRAL_NOT_EARNED = "points_referral_not_earned"


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
