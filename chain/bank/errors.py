"""Stable codes of the bank formats: a bank account that cannot be paid, a confirmation file
that cannot be trusted."""

from __future__ import annotations

from escrow.refusals import Refusal

BANK_ACCOUNT_INVALID = "bank_account_invalid"
CONFIRMATION_MALFORMED = "payout_confirmation_malformed"
CONFIRMATION_TOO_LARGE = "payout_confirmation_too_large"
CONFIRMATION_COUNT_MISMATCH = "payout_confirmation_count_mismatch"
CONFIRMATION_TOTAL_MISMATCH = "payout_confirmation_total_mismatch"
CONFIRMATION_CHECKSUM_MISMATCH = "payout_confirmation_checksum_mismatch"
CONFIRMATION_LINE_DUPLICATE = "payout_confirmation_line_duplicate"
CONFIRMATION_LINE_UNKNOWN = "payout_confirmation_line_unknown"


class BankAccountInvalid(Refusal, ValueError):
    """A bank account that is not a bank code, an account number and a holder's name."""

    code = BANK_ACCOUNT_INVALID


class ConfirmationRefused(Refusal, ValueError):
    """A confirmation file refused whole (codes ``payout_confirmation_*``): nothing of it is
    applied."""

    code = CONFIRMATION_MALFORMED
