"""What the public audit API and page ask of the cumulative transparency log (RFC 9162 across
months, C2SP checkpoints, witness cosignatures), as an interface.

The log itself is built elsewhere; until it is plugged in (``settlement.bootstrap``), the
provider ``NotYetAvailable`` answers every question with ``audit_log_not_available`` (404), and
the month trees of the published bundles are all there is.
"""

from __future__ import annotations

from typing import Any, Protocol

from escrow.refusals import Refusal


class LogNotAvailable(Refusal):
    """The cumulative log (checkpoints, consistency, witnesses) is not available yet."""

    code = "audit_log_not_available"


class TransparencyLog(Protocol):
    """The cumulative log's public answers, each a JSON object as published."""

    def checkpoint(self) -> dict[str, Any]:
        """The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)."""
        ...

    def inclusion(self, transfer_id: str) -> dict[str, Any]:
        """The transfer's inclusion proof in the cumulative tree at the latest checkpoint."""
        ...

    def consistency(self, old_size: int, new_size: int) -> dict[str, Any]:
        """The RFC 9162 consistency proof between two sizes of the cumulative tree."""
        ...

    def cosignatures(self, period: str) -> list[dict[str, Any]]:
        """The witnesses' cosignatures of the month's checkpoint."""
        ...


class NotYetAvailable:
    """The provider until the cumulative log is plugged in: every answer is refused."""

    def checkpoint(self) -> dict[str, Any]:
        """Refused: no checkpoint yet."""
        raise LogNotAvailable("no checkpoint has been published yet")

    def inclusion(self, transfer_id: str) -> dict[str, Any]:
        """Refused: no cumulative tree yet."""
        raise LogNotAvailable(f"no cumulative log yet to prove {transfer_id} in")

    def consistency(self, old_size: int, new_size: int) -> dict[str, Any]:
        """Refused: no cumulative tree yet."""
        raise LogNotAvailable(f"no cumulative log yet to prove {old_size} -> {new_size}")

    def cosignatures(self, period: str) -> list[dict[str, Any]]:
        """Refused: no witnesses yet."""
        raise LogNotAvailable(f"no witness cosignatures of {period} yet")
