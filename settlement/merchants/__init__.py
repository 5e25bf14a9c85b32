"""Merchants: onboarded by the treasury, suspended and reactivated, read by checkouts (issue 11)."""
