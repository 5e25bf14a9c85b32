"""The Pi rail's refusals: a stable code; its HTTP status is in ``settlement.refusals``."""

from __future__ import annotations

from escrow.refusals import Refusal
from settlement.refusals import http_status


class PiRefusal(Refusal):
    """A Pi request refused for a stated reason; nothing was posted."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, code=code)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"

    @property
    def status(self) -> int:
        """HTTP status for this refusal (500 for a code nobody mapped: a programmer error)."""
        return http_status(self)
