"""HTTP routers, one per actor or rail."""
