"""The ledger's error hierarchy: operating errors callers handle, and broken invariants."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger raises."""


class InvariantViolation(LedgerError):
    """A rule of double entry was broken: a programmer error that must stop the request loudly."""


class AccountNotFound(LedgerError, LookupError):
    """No account has this code."""


class AccountConflict(LedgerError, ValueError):
    """An account with this code exists with a different asset, kind or flags."""


class InvalidTransfer(LedgerError, ValueError):
    """A transfer request is malformed (shape, not business rules: those are result codes)."""


class PeriodNotClosable(LedgerError, ValueError):
    """The month cannot be closed (it has not ended, or is malformed)."""


class LedgerConflict(LedgerError):
    """A concurrent writer raced this batch (e.g. the same new id); retry the whole transaction."""
