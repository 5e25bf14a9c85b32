"""The verification tier of each Pioneer, set by the treasury; a Pioneer nobody set is tier 0.

The tier picks the conversion limits (``settlement.parameters.conversion_limit_units``)."""

from __future__ import annotations

from escrow.calendar import from_us
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement.parameters import TIERS, actor_chars_max
from settlement.unit_of_work import UnitOfWork

uid_chars_max = 128
"""As long as a Pi app-specific uid can be (``chain.pi.ids``)."""
DEFAULT_TIER = 0


class TierInvalid(Refusal, ValueError):
    """Not a tier (0 or 1), or not a Pioneer's uid."""

    code = "pioneer_tier_invalid"


def tier_of(uow: UnitOfWork, uid: str) -> int:
    """The tier of Pioneer ``uid``: the treasury's setting, else 0."""
    found = uow.conn.execute(
        sql("SELECT tier FROM pioneer_tiers WHERE uid = :uid"), {"uid": uid}
    ).scalar_one_or_none()
    return DEFAULT_TIER if found is None else int(found)


def set_tier(uow: UnitOfWork, uid: str, tier: int, by: str) -> None:
    """Set Pioneer ``uid``'s tier, recording who and when (``pioneer_tier_invalid``)."""
    if isinstance(tier, bool) or tier not in TIERS:
        raise TierInvalid(f"a tier is one of {TIERS}, not {tier!r}")
    if not isinstance(uid, str) or not 1 <= len(uid) <= uid_chars_max:
        raise TierInvalid(f"a uid has 1 to {uid_chars_max} characters")
    if not isinstance(by, str) or not 1 <= len(by) <= actor_chars_max:
        raise ValueError(f"by names who sets the tier in 1 to {actor_chars_max} characters")
    uow.conn.execute(
        sql(
            "INSERT INTO pioneer_tiers (uid, tier, set_at, set_by) VALUES (:uid, :tier, :at, :by)"
            " ON CONFLICT (uid) DO UPDATE SET tier = EXCLUDED.tier, set_at = EXCLUDED.set_at,"
            " set_by = EXCLUDED.set_by"
        ),
        {"uid": uid, "tier": tier, "at": from_us(uow.clock.now_us()), "by": by},
    )
