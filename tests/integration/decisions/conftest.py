from tests.integration.pi.conftest import pi_world

__all__ = ["pi_world"]
