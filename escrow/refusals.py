"""The one base of every refusal: an operating error with a stable, machine-readable ``code``.

A refusal is expected (bad input, a rule said no, a remote said no) and is answered, never
crashed on; a broken invariant is an ``InvariantViolation`` instead. Every code raised anywhere
is listed, with its HTTP status and its messages, in ``settlement/refusals.py``; a test fails
when one is missing. ``escrow`` hosts the base so that ``chain`` can subclass it too.
"""

from __future__ import annotations


class Refusal(Exception):
    """Refused for a stated reason; nothing was posted, queued or sent.

    ``code`` is stable (clients and tests branch on it); ``detail`` is the human explanation,
    for logs and the problem's ``detail`` member. Subclasses set a default ``code``.
    """

    code: str = "refused"
    status_override: int | None = None
    """Set only by a refusal that answers for a whole request while carrying an inner code (a
    gateway notification unreadable because of its amount is a 400, though the amount's own
    code is a 422 elsewhere); otherwise the registry gives the status."""

    def __init__(self, detail: str = "", *, code: str | None = None) -> None:
        super().__init__(detail)
        if code is not None:
            self.code = code
        self.detail = detail
