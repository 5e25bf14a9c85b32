"""Pi-Zone campaigns: discounts reserved from a budget in the ledger (model, service)."""
