"""The checkout's refusals: each a stable code of ``settlement.refusals`` (group ``_CHECKOUT``)."""

from __future__ import annotations

from escrow.refusals import Refusal


class CheckoutRefused(Refusal, ValueError):
    """A checkout request or transition that cannot be done; nothing was written."""

    code = "checkout_invalid"

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, code=code)
