"""The FastAPI application: routers per actor, request ids, problem+json errors."""

from __future__ import annotations

from fastapi import FastAPI

from api import health, metrics, transparency
from api.body_limit import BodyLimitMiddleware
from api.database_unavailable import DatabaseUnavailableMiddleware
from api.idempotency import IdempotencyMiddleware
from api.limits import RateLimitMiddleware, document_limits
from api.openapi import install_openapi
from api.problems import install_problem_handlers, problem_responses
from api.request_id import RequestIdMiddleware
from api.routers import (
    audit,
    books,
    campaigns,
    checkouts,
    conversions,
    decisions,
    guarantee_fund,
    locks,
    me,
    merchant_reads,
    merchants,
    payouts,
    pi,
    points,
    proposals,
    qris,
    quotes,
    rates,
    receipts,
    reserves,
)
from settlement.services import Services


def create_app(services: Services) -> FastAPI:
    """Build the HTTP application around already wired services (the bootstrap's container)."""
    app = FastAPI(
        title="msc-settlement",
        version="0.1.0",
        docs_url=None,  # served from local assets by install_openapi
        redoc_url=None,
        responses=problem_responses(500),  # every operation may fail; the body is problem+json
    )
    app.state.services = services
    install_problem_handlers(app)
    install_openapi(app)
    # Innermost: a body the limits refuse never reaches it, so no key is stored for it.
    app.add_middleware(IdempotencyMiddleware, services=services)
    # Outside it: a request over its rate limit claims no key and runs nothing (decision 0038).
    app.add_middleware(RateLimitMiddleware, services=services)
    # Added early, so inner: the request id and the latency histogram cover its refusals.
    app.add_middleware(
        BodyLimitMiddleware,
        body_bytes_max=services.settings.http_body_bytes_max,
        exempt_prefixes=(pi.SANDBOX_MOUNT, rates.SANDBOX_MOUNT),
    )
    app.add_middleware(DatabaseUnavailableMiddleware)  # around every use of the database
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)
    metrics.install(app, services)  # GET /metrics and the request latency histogram
    app.include_router(pi.router)
    pi.mount_sandbox(app, services)  # Pi sandbox under /pi-sandbox when MSC_PI_SANDBOX
    app.include_router(qris.router)
    app.include_router(merchants.router)
    app.include_router(checkouts.router)
    app.include_router(campaigns.router)
    app.include_router(merchant_reads.router)
    app.include_router(decisions.router)
    app.include_router(books.router)
    app.include_router(reserves.router)
    app.include_router(guarantee_fund.router)
    app.include_router(quotes.router)
    app.include_router(conversions.router)
    app.include_router(me.router)
    app.include_router(locks.router)
    app.include_router(points.router)
    app.include_router(rates.router)
    rates.mount_sandbox(app, services)  # rates sandbox under /rates-sandbox while a source uses it
    app.include_router(payouts.router)
    app.include_router(audit.router)  # public: no credential, cached, rate-limited per IP
    app.include_router(receipts.router)
    app.include_router(transparency.router)  # GET /transparency: the public page
    app.include_router(proposals.router)
    document_limits(app)
    return app
