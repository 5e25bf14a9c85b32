"""The sandbox HTTP server: Platform API v2 subset, Horizon subset, and /sandbox admin routes.

Faults are armed through `POST /sandbox/faults` and consumed by the next matching requests:
`status_500` (JSON 500), `html_502` (an nginx HTML page), `timeout` (sleep, then 504 HTML),
`lost_response` (the request is carried out, then its answer is lost: 504 HTML).
`POST /sandbox/horizon_lag {"seconds": N}` makes Horizon show a transaction only N seconds after
its ledger closed (ingestion lag).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from chain.pi.amounts import to_units
from chain.pi.horizon import payments_page_records_max
from chain.pi.sandbox.chain import SandboxChain, sandbox_base_fee_stroops
from chain.pi.sandbox.pioneer_side import PayOverrides, network_cancel, pay, user_cancel
from chain.pi.sandbox.platform import SandboxPlatform, SandboxRefusal
from escrow.calendar import US_PER_S
from escrow.clock import Clock, SystemClock

_NGINX_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
)
_GATEWAY_TIMEOUT = "<html><body>504 Gateway Time-out</body></html>"
fault_delay_s_max = 30.0
horizon_lag_s_max = 3600


@dataclass
class Fault:
    """One armed fault: applies to the next `times` requests whose path contains `path_contains`."""

    scope: str
    kind: str
    times: int
    path_contains: str = ""
    delay_s: float = 2.0


@dataclass
class Sandbox:
    """Everything the sandbox holds."""

    platform: SandboxPlatform
    api_key: str
    clock: Clock = field(default_factory=SystemClock)
    faults: list[Fault] = field(default_factory=list)

    @property
    def chain(self) -> SandboxChain:
        """The ledger."""
        return self.platform.chain


def _json(body: object, status: int = 200) -> Response:
    return Response(
        json.dumps(body, default=str), status_code=status, media_type="application/json"
    )


async def _body(request: Request) -> dict[str, object]:
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw, parse_float=Decimal)
    return data if isinstance(data, dict) else {}


def _amount(value: object, *, allow_zero: bool = False) -> Decimal:
    try:
        amount = Decimal(str(value))
        to_units(amount, allow_zero=allow_zero)
    except (InvalidOperation, ValueError) as exc:
        raise SandboxRefusal(400, "invalid_amount", f"bad amount {value!r}") from exc
    return amount


Handler = Callable[[Request], Awaitable[Response]]


def build_app(sandbox: Sandbox) -> Starlette:
    """The ASGI app over `sandbox`."""
    sb = sandbox

    def guarded(handler: Handler, *, key: bool = True) -> Handler:
        async def run(request: Request) -> Response:
            if key and request.headers.get("authorization") != f"Key {sb.api_key}":
                return _json({"error": "unauthorized", "error_message": "bad server API key"}, 401)
            try:
                return await handler(request)
            except SandboxRefusal as refusal:
                return _json(refusal.body, refusal.status)

        return run

    async def me(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        user = sb.platform.me(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        return _json(user) if user else Response("Unauthorized", status_code=401)

    async def create_payment(request: Request) -> Response:
        body = (await _body(request)).get("payment")
        if not isinstance(body, dict):
            raise SandboxRefusal(400, "invalid_arguments", "missing payment")
        return _json(
            sb.platform.create_a2u(
                str(body.get("uid")),
                _amount(body.get("amount")),
                str(body.get("memo", "")),
                body.get("metadata"),
            )
        )

    async def get_payment(request: Request) -> Response:
        return _json(sb.platform.get(request.path_params["pid"]))

    async def approve(request: Request) -> Response:
        return _json(sb.platform.approve(request.path_params["pid"]))

    async def complete(request: Request) -> Response:
        txid = (await _body(request)).get("txid")
        if not isinstance(txid, str):
            raise SandboxRefusal(400, "missing_txid", "txid is required")
        return _json(sb.platform.complete(request.path_params["pid"], txid))

    async def cancel(request: Request) -> Response:
        return _json(sb.platform.cancel(request.path_params["pid"]))

    async def incomplete(request: Request) -> Response:
        return _json({"incomplete_server_payments": sb.platform.incomplete_server_payments()})

    routes = [
        Route("/v2/me", me),
        Route("/v2/payments", guarded(create_payment), methods=["POST"]),
        Route("/v2/payments/incomplete_server_payments", guarded(incomplete)),
        Route("/v2/payments/{pid}", guarded(get_payment)),
        Route("/v2/payments/{pid}/approve", guarded(approve), methods=["POST"]),
        Route("/v2/payments/{pid}/complete", guarded(complete), methods=["POST"]),
        Route("/v2/payments/{pid}/cancel", guarded(cancel), methods=["POST"]),
        *_horizon_routes(sb),
        *_admin_routes(sb, guarded),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(_FaultMiddleware, sandbox=sb)
    return app


def _horizon_routes(sb: Sandbox) -> list[Route]:
    not_found = {
        "type": "https://stellar.org/horizon-errors/not_found",
        "title": "Resource Missing",
        "status": 404,
    }

    async def transaction(request: Request) -> Response:
        stored = sb.chain.ingested(request.path_params["txid"])
        return _json(stored.record) if stored else _json(not_found, 404)

    async def operations(request: Request) -> Response:
        stored = sb.chain.ingested(request.path_params["txid"])
        if stored is None:
            return _json(not_found, 404)
        return _json({"_links": {}, "_embedded": {"records": stored.operations}})

    async def account(request: Request) -> Response:
        body = sb.chain.account_json(request.path_params["address"])
        return _json(body) if body else _json(not_found, 404)

    async def payments(request: Request) -> Response:
        address = request.path_params["address"]
        if sb.chain.account_json(address) is None:
            return _json(not_found, 404)
        query = request.query_params
        cursor, limit = query.get("cursor", "") or "0", query.get("limit", "10")
        if not (cursor.isdigit() and limit.isdigit()) or query.get("order", "asc") != "asc":
            return _json(_bad_request("cursor and limit are numbers; order is asc"), 400)
        if not 0 < int(limit) <= payments_page_records_max:
            return _json(_bad_request(f"limit is 1..{payments_page_records_max}"), 400)
        records = sb.chain.payments_of(address, int(cursor), int(limit))
        if query.get("join") != "transactions":
            records = [{k: v for k, v in r.items() if k != "transaction"} for r in records]
        next_cursor = str(records[-1]["paging_token"]) if records else cursor
        base = f"{sb.chain.base_url}/accounts/{address}/payments"
        links = {
            "self": {"href": f"{base}?cursor={cursor}&limit={limit}&order=asc"},
            "next": {"href": f"{base}?cursor={next_cursor}&limit={limit}&order=asc"},
        }
        return _json({"_links": links, "_embedded": {"records": records}})

    async def fee_stats(_request: Request) -> Response:
        fee = str(sandbox_base_fee_stroops)
        return _json(
            {
                "last_ledger": str(sb.chain.ledger),
                "last_ledger_base_fee": fee,
                "ledger_capacity_usage": "0.01",
                "fee_charged": {"p50": fee},
                "max_fee": {"p50": fee},
            }
        )

    async def root(_request: Request) -> Response:
        """Horizon's root: which network this server follows (what an auditor pins)."""
        return _json(
            {
                "horizon_version": "msc-pi-sandbox",
                "network_passphrase": sb.chain.network_passphrase,
                "history_latest_ledger": sb.chain.ledger,
            }
        )

    async def submit(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("ascii", "replace"))
        outcome = sb.chain.submit(form.get("tx", [""])[0])
        return _json(outcome.body, outcome.status)

    return [
        Route("/", root),
        Route("/transactions", submit, methods=["POST"]),
        Route("/transactions/{txid}", transaction),
        Route("/transactions/{txid}/operations", operations),
        Route("/accounts/{address}", account),
        Route("/accounts/{address}/payments", payments),
        Route("/fee_stats", fee_stats),
    ]


def _bad_request(detail: str) -> dict[str, object]:
    return {
        "type": "https://stellar.org/horizon-errors/bad_request",
        "title": "Bad Request",
        "status": 400,
        "detail": detail,
    }


def _admin_routes(sb: Sandbox, guarded: Callable[..., Handler]) -> list[Route]:
    async def add_pioneer(request: Request) -> Response:
        body = await _body(request)
        pioneer = sb.platform.add_pioneer(
            str(body.get("username", "pioneer")),
            to_units(_amount(body.get("balance", "100"), allow_zero=True), allow_zero=True),
        )
        return _json(
            {
                "uid": pioneer.uid,
                "username": pioneer.username,
                "access_token": pioneer.access_token,
                "address": pioneer.keypair.public_key,
            }
        )

    async def u2a(request: Request) -> Response:
        body = await _body(request)
        return _json(
            sb.platform.create_u2a(
                request.path_params["uid"],
                _amount(body.get("amount")),
                str(body.get("memo", "")),
                body.get("metadata"),
            )
        )

    async def do_pay(request: Request) -> Response:
        body = await _body(request)
        overrides = PayOverrides(
            amount=_amount(body["amount"]) if "amount" in body else None,
            memo=str(body["memo"]) if "memo" in body else None,
            destination=str(body["destination"]) if "destination" in body else None,
        )
        return _json(
            pay(sb.platform, request.path_params["pid"], overrides, sb.clock.now_us() // US_PER_S)
        )

    async def do_user_cancel(request: Request) -> Response:
        return _json(user_cancel(sb.platform, request.path_params["pid"]))

    async def do_network_cancel(request: Request) -> Response:
        return _json(network_cancel(sb.platform, request.path_params["pid"]))

    async def arm_fault(request: Request) -> Response:
        body = await _body(request)
        fault = Fault(
            scope=str(body.get("scope", "platform")),
            kind=str(body.get("kind", "status_500")),
            times=int(str(body.get("times", 1))),
            path_contains=str(body.get("path_contains", "")),
            delay_s=min(float(str(body.get("delay_s", 2.0))), fault_delay_s_max),
        )
        if fault.scope not in ("platform", "horizon") or fault.kind not in (
            "status_500",
            "html_502",
            "timeout",
            "lost_response",
        ):
            raise SandboxRefusal(400, "invalid_arguments", "unknown fault scope or kind")
        sb.faults.append(fault)
        return _json({"armed": len(sb.faults)})

    async def fail_next_tx(request: Request) -> Response:
        sb.chain.fail_next += int(str((await _body(request)).get("times", 1)))
        return _json({"fail_next": sb.chain.fail_next})

    async def horizon_lag(request: Request) -> Response:
        seconds = int(str((await _body(request)).get("seconds", 0)))
        if not 0 <= seconds <= horizon_lag_s_max:
            raise SandboxRefusal(400, "invalid_arguments", f"lag must be 0..{horizon_lag_s_max} s")
        sb.chain.ingestion_lag_s = seconds
        return _json({"ingestion_lag_s": seconds})

    async def fund(request: Request) -> Response:
        body = await _body(request)
        sb.chain.fund(str(body["address"]), to_units(_amount(body["amount"])))
        return _json(sb.chain.account_json(str(body["address"])))

    open_ = {"key": False}
    return [
        Route("/sandbox/pioneers", guarded(add_pioneer, **open_), methods=["POST"]),
        Route("/sandbox/pioneers/{uid}/payments", guarded(u2a, **open_), methods=["POST"]),
        Route("/sandbox/payments/{pid}/pay", guarded(do_pay, **open_), methods=["POST"]),
        Route(
            "/sandbox/payments/{pid}/user_cancel",
            guarded(do_user_cancel, **open_),
            methods=["POST"],
        ),
        Route(
            "/sandbox/payments/{pid}/network_cancel",
            guarded(do_network_cancel, **open_),
            methods=["POST"],
        ),
        Route("/sandbox/faults", guarded(arm_fault, **open_), methods=["POST"]),
        Route("/sandbox/fail_next_tx", guarded(fail_next_tx, **open_), methods=["POST"]),
        Route("/sandbox/horizon_lag", guarded(horizon_lag, **open_), methods=["POST"]),
        Route("/sandbox/fund", guarded(fund, **open_), methods=["POST"]),
    ]


async def _discard(_message: object) -> None:
    """An ASGI `send` that loses the answer."""


class _FaultMiddleware:
    """Consume armed faults for matching requests: instead of the routes, or (`lost_response`)
    after them, in place of their answer."""

    def __init__(self, app: Callable[..., Awaitable[None]], sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: dict[str, object], receive: object, send: object) -> None:
        path = str(scope.get("path", ""))
        fault = self._take(path) if scope.get("type") == "http" else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        response: Response
        if fault.kind == "lost_response":
            await self.app(scope, receive, _discard)
            response = HTMLResponse(_GATEWAY_TIMEOUT, status_code=504)
        elif fault.kind == "timeout":
            await asyncio.sleep(fault.delay_s)
            response = HTMLResponse(_GATEWAY_TIMEOUT, status_code=504)
        elif fault.kind == "html_502":
            response = HTMLResponse(_NGINX_502, status_code=502)
        else:
            response = JSONResponse(
                {"error": "internal_error", "error_message": "sandbox fault"}, 500
            )
        await response(scope, receive, send)  # type: ignore[arg-type]

    def _take(self, path: str) -> Fault | None:
        if path.startswith("/sandbox"):
            return None
        scope = "platform" if path.startswith("/v2") else "horizon"
        for fault in self.sandbox.faults:
            if fault.scope == scope and fault.path_contains in path and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.sandbox.faults.remove(fault)
                return fault
        return None


def make_sandbox(
    *,
    api_key: str,
    app_address: str,
    app_balance_units: int = 0,
    base_url: str = "http://127.0.0.1:8765",
    network_passphrase: str = "Pi Testnet",  # noqa: S107 - a public network name, not a secret
    clock: Clock | None = None,
) -> Sandbox:
    """A fresh sandbox whose app wallet exists (funded with `app_balance_units`)."""
    clock = clock or SystemClock()
    chain = SandboxChain(network_passphrase=network_passphrase, base_url=base_url, clock=clock)
    chain.fund(app_address, app_balance_units)
    return Sandbox(
        platform=SandboxPlatform(chain=chain, app_address=app_address), api_key=api_key, clock=clock
    )
