"""QRIS gateway notification adapters (Midtrans, Xendit, SNAP BI) -> one normalised event."""
