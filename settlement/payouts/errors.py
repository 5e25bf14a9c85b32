"""Refusals of the payout batch (codes ``payout_*``); the bank formats' own are in
``chain.bank.errors``."""

from __future__ import annotations

from escrow.refusals import Refusal

NOTHING_DUE = "payout_nothing_due"
CUTOFF_NOT_REACHED = "payout_cutoff_not_reached"
BATCH_NOT_FOUND = "payout_batch_not_found"
BATCH_CONFIRMED = "payout_batch_confirmed"
CONFIRMATION_BATCH_UNKNOWN = "payout_confirmation_batch_unknown"
CONFIRMATION_BATCH_MISMATCH = "payout_confirmation_batch_mismatch"
CONFIRMATION_INCOMPLETE = "payout_confirmation_incomplete"
CONFIRMATION_LINE_MISMATCH = "payout_confirmation_line_mismatch"
OBLIGATION_INVALID = "payout_obligation_invalid"
OBLIGATION_EXISTS = "payout_obligation_exists"
REFUND_NOT_FOUND = "payout_refund_not_found"
REFUND_NOT_OWED = "payout_refund_not_owed"


class PayoutRefused(Refusal):
    """A payout command refused; nothing was held, posted or written."""

    code = OBLIGATION_INVALID
