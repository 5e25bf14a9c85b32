"""QRIS rail use cases: expectations, notifications, report ingest, reconciliation."""
