"""Pi rail use cases: expectations, U2A approve/complete, A2U payouts, recovery, reconciliation."""
