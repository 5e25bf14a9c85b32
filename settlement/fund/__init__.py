"""The merchant guarantee fund: contributions, FX-shortfall payments, claims, coverage."""
