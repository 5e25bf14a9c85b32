"""Pi Network: Platform API client, Horizon verification, A2U payouts, sandbox."""
