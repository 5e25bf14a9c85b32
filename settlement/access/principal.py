"""Who a request acts as: a role and an owner, and what each role may see.

A merchant key belongs to one merchant and sees only that merchant; a treasury key (or the
operator token) sees every merchant; a gateway key reports payments and sees no merchant's data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from escrow.refusals import Refusal

__all__ = ["AccessRefused", "Principal", "Role"]


class Role(StrEnum):
    """What an API key may do."""

    MERCHANT = "merchant"
    TREASURY = "treasury"
    GATEWAY = "gateway"


class AccessRefused(Refusal):
    """The caller is not authenticated (401 ``unauthenticated``) or may not do this (403
    ``forbidden``)."""

    code = "forbidden"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: its role, its owner (a merchant id for merchant keys, a person
    or system otherwise) and the key it came with (None for the operator token)."""

    role: Role
    owner: str
    key_id: uuid.UUID | None

    @property
    def actor(self) -> str:
        """What events record as who did it: ``merchant:UM001``, ``treasury:officer1``."""
        return f"{self.role}:{self.owner}"

    def require_merchant(self, merchant_id: str) -> None:
        """Refuse (403 ``forbidden``) unless this caller may act on ``merchant_id``: the treasury
        on any merchant, a merchant on its own only, a gateway on none."""
        if self.role is Role.TREASURY:
            return
        if self.role is Role.MERCHANT and self.owner == merchant_id:
            return
        raise AccessRefused(f"{self.actor} may not act on merchant {merchant_id}")
