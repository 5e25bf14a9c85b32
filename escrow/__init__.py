"""The double-entry escrow ledger: assets, accounts, transfers, balances, period close."""
