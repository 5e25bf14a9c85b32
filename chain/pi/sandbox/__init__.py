"""A local stand-in for Pi Network: Platform API subset + Horizon, with faults on demand."""
