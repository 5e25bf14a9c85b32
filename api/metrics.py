"""``GET /metrics`` (Prometheus text format) and the request latency histogram.

Each app has its own registry (no process-global state), holding the collectors that read the
figures kept in the database (settlement/metrics.py), the HTTP latency histogram fed by a small
ASGI middleware, and the standard process, platform and garbage-collector collectors.

With ``msc serve --processes N`` (``PROMETHEUS_MULTIPROC_DIR`` set by the serve command) the
histogram lives in that directory's shared files and every process's scrape reports the sum over
all of them, whichever process the kernel hands the scrape to.
"""

from __future__ import annotations

import os
import time

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
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
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
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
    for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(standard)
    shared = os.environ.get(MULTIPROCESS_DIR_ENV)
    if shared:
        MultiProcessCollector(registry, path=shared)  # type: ignore[no-untyped-call]
    histogram = Histogram(
        "msc_http_request_duration_seconds",
        "HTTP request latency by method, route template and status.",
        ["method", "route", "status"],
        buckets=LATENCY_BUCKETS_S,
        registry=None if shared else registry,
    )
    app.state.metrics_registry = registry
    app.add_middleware(LatencyMiddleware, histogram=histogram)
    app.include_router(router)
