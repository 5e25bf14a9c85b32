"""MSC on an EVM chain: recorded transactions, deployment, the bridge (mint/deposit), reconcile."""
