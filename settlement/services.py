"""What the HTTP entrypoint needs from the wiring: the one interface ``api`` depends on.

``settlement.bootstrap.Container`` satisfies it; ``api`` never imports the bootstrap, so the
HTTP layer can be given any object with these read-only parts (decision 0015).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine

from chain.qris.gateways.base import GatewayAdapter
from escrow.clock import Clock
from settlement.audit.published import PublishedBundles
from settlement.audit.transparency import TransparencyLog
from settlement.checkout.service import CheckoutDeps
from settlement.config import Settings
from settlement.pi.deps import PiDeps
from settlement.ratelimit import RateLimiter, RateLimits

if TYPE_CHECKING:
    from starlette.types import ASGIApp


class Services(Protocol):
    """The configuration, the database and the rails' adapters, built once at start."""

    @property
    def settings(self) -> Settings:
        """The service's configuration."""
        ...

    @property
    def engine(self) -> Engine:
        """The database every request runs its transaction on."""
        ...

    @property
    def pi(self) -> PiDeps | None:
        """The Pi rail's adapters; None when the rail is not configured."""
        ...

    @property
    def pi_sandbox_app(self) -> ASGIApp | None:
        """The in-process Pi sandbox to mount under /pi-sandbox, if any."""
        ...

    @property
    def rates_sandbox_app(self) -> ASGIApp | None:
        """The in-process rates sandbox to mount under /rates-sandbox, if any."""
        ...

    @property
    def qris_adapters(self) -> Mapping[str, GatewayAdapter]:
        """The QRIS gateway notification adapters by provider name."""
        ...

    @property
    def checkout(self) -> CheckoutDeps:
        """The checkouts' price source, windows and settlement conversion."""
        ...

    @property
    def clock(self) -> Clock:
        """The clock every request's unit of work runs on."""
        ...

    @property
    def published(self) -> PublishedBundles:
        """The published audit bundles."""
        ...

    @property
    def transparency(self) -> TransparencyLog:
        """The cumulative transparency log (``NotYetAvailable`` until it is plugged in)."""
        ...

    @property
    def public_limiter(self) -> RateLimiter:
        """The public routes' rate limit per client IP."""
        ...

    @property
    def limits(self) -> RateLimits:
        """The rate limits per API key, per Pioneer and per client IP."""
        ...
