"""The service wires conversions: the worker pays their refunds, and the Pi rail's completion
can requote a late receipt with the service's rate panel."""

from __future__ import annotations

import pytest

from settlement.bootstrap import build_container
from settlement.config import Settings
from settlement.conversions.receipt import OUTBOX_PI_REFUND

pytestmark = pytest.mark.integration


def test_the_container_pays_refunds_and_requotes_with_its_panel() -> None:
    container = build_container(Settings(), "postgresql://unused@127.0.0.1:1/none")
    try:
        assert OUTBOX_PI_REFUND in container.dispatcher._handlers
        assert container.pi is not None
        assert container.pi.rates is container.checkout.rates
    finally:
        container.engine.dispose()
