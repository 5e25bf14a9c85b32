"""``GET /metrics`` (Prometheus text format) and the request latency histogram.

Each app has its own registry (no process-global state), holding the ledger and payment
collectors that read the database at scrape time and the HTTP latency histogram fed by a small
ASGI middleware.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from settlement.metrics import (
    GuaranteeFundCollector,
    LedgerCollector,
    PaymentCollector,
    ReserveCollector,
)
from settlement.services import Services

router = APIRouter(tags=["metrics"])

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED_ROUTE = "unmatched"
"""Route label for requests no route matched (keeps the label set bounded)."""


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The service's metrics for Prometheus."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class LatencyMiddleware:
    """Observes each HTTP request's duration by method, route template and status."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self._app = app
        self._histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request; the route label is the matched path template, not the raw path."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED_ROUTE
            self._histogram.labels(scope["method"], template, str(status[0])).observe(
                time.perf_counter() - started
            )


def install(app: FastAPI, services: Services) -> None:
    """Give ``app`` its registry, ``/metrics`` and the latency middleware."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(services.engine))
    registry.register(PaymentCollector(services.engine))
    registry.register(ReserveCollector(services.engine))
    registry.register(GuaranteeFundCollector(services.engine, services.checkout.rates))
    histogram = Histogram(
        "msc_http_request_duration_seconds",
        "HTTP request latency by method, route template and status.",
        ["method", "route", "status"],
        buckets=LATENCY_BUCKETS_S,
        registry=registry,
    )
    app.state.metrics_registry = registry
    app.add_middleware(LatencyMiddleware, histogram=histogram)
    app.include_router(router)
