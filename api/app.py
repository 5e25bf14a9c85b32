"""The FastAPI application: routers per actor, request ids, problem+json errors."""

from __future__ import annotations

from fastapi import FastAPI

from api import health, metrics
from api.body_limit import BodyLimitMiddleware
from api.problems import install_problem_handlers
from api.request_id import RequestIdMiddleware
from api.routers import pi, qris
from settlement.services import Services


def create_app(services: Services) -> FastAPI:
    """Build the HTTP application around already wired services (the bootstrap's container)."""
    app = FastAPI(title="msc-settlement", version="0.1.0")
    app.state.services = services
    install_problem_handlers(app)
    # Added first, so innermost: the request id and the latency histogram cover its refusals.
    app.add_middleware(BodyLimitMiddleware, body_bytes_max=services.settings.http_body_bytes_max)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)
    metrics.install(app, services)  # GET /metrics and the request latency histogram
    app.include_router(pi.router)
    pi.mount_sandbox(app, services)  # Pi sandbox under /pi-sandbox when MSC_PI_SANDBOX
    app.include_router(qris.router)
    return app
