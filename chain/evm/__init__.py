"""EVM: web3 client for the MSC token and the audit anchor."""
