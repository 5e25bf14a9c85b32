"""Guarantee fund tests run the Pi rail against the in-process Pi sandbox (tests/integration/pi)."""

from tests.integration.pi.conftest import pi_world

__all__ = ["pi_world"]
