"""RFC 9457 problem details: every error the API returns has a stable machine-readable ``code``.

This is the one place a ``Refusal`` becomes an HTTP answer: the status comes from the refusal
registry (``settlement.refusals``), the ``title`` is the registry's message in the language the
client asks for (``Accept-Language``; Indonesian by default, English by default on operator
routes: decision 0011), the ``detail`` is the refusal's own explanation.
"""

from __future__ import annotations

from typing import Any

import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from settlement.refusals import Language, Refusal, http_status, message

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger(__name__)
OPERATOR_PATH_PREFIXES = ("/v1/qris/exceptions", "/v1/operator", "/v1/ledger")
"""Operator routes answer in English unless asked otherwise; every other route (Pioneer's Pi app,
merchant, QRIS gateways) in Indonesian."""
accept_language_chars_max = 256
database_retry_after_s = 1
DATABASE_UNREACHABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
"""What a lost or restarting database raises (a connection refused, dropped or reset, and the
serialization failures PostgreSQL asks a client to retry): the request changed nothing, and the
same request again, with the same Idempotency-Key, is the way on."""


class ProblemDetail(BaseModel):
    """The body of every error response (RFC 9457), for the OpenAPI document."""

    model_config = ConfigDict(extra="allow")  # extension members: errors, payment_id, ...

    type: str
    title: str
    status: int
    code: str = Field(description="Stable machine-readable code; clients branch on it.")
    instance: str
    detail: str | None = None


BODY_STATUSES = (400, 413, 415, 422)
"""The request-body rule of every route that takes a body (decision 0016): 400 not JSON, 413 too
large, 415 not declared as JSON, 422 JSON the route's schema refuses."""
PROBLEM_EXAMPLES: dict[int, tuple[str, str, str]] = {
    400: ("malformed_json", "Request body is not JSON", "Expecting value: line 1 column 1"),
    401: ("operator_unauthenticated", "Operator token required", "send Authorization: Bearer"),
    403: ("pi_payer_mismatch", "Pi payment refused", "the payment is not this Pioneer's"),
    404: ("not_found", "Not Found", "no such resource"),
    409: ("pi_expectation_fulfilled", "Pi payment refused", "another payment took it"),
    429: ("rate_limited", "Too many requests; try again shortly.", "retry after 12 s"),
    413: ("request_body_too_large", "Request body too large", "at most 65536 bytes"),
    415: ("unsupported_media_type", "Request body must be JSON", "send application/json"),
    422: ("invalid_request", "The request is not valid", "field required"),
    500: ("internal_error", "Internal error; the request id names it in the logs", ""),
    503: ("pi_unavailable", "The Pi rail is not configured", ""),
}
"""One example problem per status, for the OpenAPI document (the codes are real ones)."""


def problem_example(status: int, instance: str = "/v1/pi/payments/abc/approve") -> dict[str, Any]:
    """An example problem+json body for ``status``."""
    code, title, detail = PROBLEM_EXAMPLES.get(status, (f"http_{status}", "Refused", ""))
    example: dict[str, Any] = {
        "type": f"https://msc-settlement.madiun.go.id/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "instance": instance,
    }
    if detail:
        example["detail"] = detail
    return example


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` documenting ``statuses`` as problem+json :class:`ProblemDetail`,
    each with an example."""
    schema = ProblemDetail.model_json_schema()
    return {
        status: {
            "description": "Refused; `code` says why.",
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema, "example": problem_example(status)}},
        }
        for status in sorted(set(statuses))
    }


class Problem(Exception):
    """An error the client can act on, rendered as ``application/problem+json``."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,  # noqa: ANN401 - extension members are free-form JSON
    ) -> None:
        super().__init__(f"{code}: {detail or title}")
        self.headers = headers or {}
        """Response headers the problem needs (``Retry-After`` of a 429)."""
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra

    def body(self, instance: str) -> dict[str, Any]:
        """The JSON object of RFC 9457, with our ``code`` extension member."""
        body: dict[str, Any] = {
            "type": f"https://msc-settlement.madiun.go.id/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "instance": instance,
        }
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extra)
        return body


def default_language(path: str) -> Language:
    """English on operator routes, Indonesian everywhere else."""
    return Language.EN if path.startswith(OPERATOR_PATH_PREFIXES) else Language.ID


def choose_language(accept_language: str | None, default: Language) -> Language:
    """The language of ``Accept-Language`` we speak with the highest weight, else ``default``.

    ``id`` and ``en`` (any region, e.g. ``en-US``) are spoken; ``*`` means the default; a
    malformed weight counts as 0. Ties keep the header's order.
    """
    best: tuple[float, Language] | None = None
    for part in (accept_language or "")[:accept_language_chars_max].split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().partition("-")[0]
        spoken = default if primary == "*" else _SPOKEN.get(primary)
        weight = _weight(params)
        if spoken is not None and weight > 0 and (best is None or weight > best[0]):
            best = (weight, spoken)
    return best[1] if best else default


_SPOKEN = {"id": Language.ID, "in": Language.ID, "en": Language.EN}


def _weight(params: str) -> float:
    name, _, value = params.strip().partition("=")
    if name.strip() != "q":
        return 1.0
    try:
        weight = float(value)
    except ValueError:
        return 0.0
    return weight if 0.0 <= weight <= 1.0 else 0.0


def refusal_problem(refusal: Refusal, request: Request, **extra: Any) -> Problem:  # noqa: ANN401
    """``refusal`` as the problem answered to ``request``: registry status, localised title."""
    language = choose_language(
        request.headers.get("accept-language"), default_language(request.url.path)
    )
    return Problem(
        http_status(refusal),
        refusal.code,
        message(refusal.code, language),
        refusal.detail or None,
        **extra,
    )


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    """Render ``problem`` for ``request``."""
    return JSONResponse(
        problem.body(request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error leave the API as problem+json, including validation and crashes."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        problem = exc if isinstance(exc, Problem) else _internal()
        log.info("request_refused", code=problem.code, status=problem.status)
        return problem_response(problem, request)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        problem = Problem(
            422,
            "invalid_request",
            "The request is not valid",
            errors=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in errors],
        )
        return problem_response(problem, request)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, f"http_{status}")
        detail = exc.detail if isinstance(exc, StarletteHTTPException) else None
        return problem_response(Problem(status, code, str(detail or code)), request)

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request_crashed")
        return problem_response(_internal(), request)

    async def on_refusal(request: Request, exc: Exception) -> JSONResponse:
        problem = refusal_problem(exc, request) if isinstance(exc, Refusal) else _internal()
        log.info("request_refused", code=problem.code, status=problem.status)
        return problem_response(problem, request)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(Refusal, on_refusal)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


def database_unavailable(request: Request) -> JSONResponse:
    """503 ``database_unavailable`` with ``Retry-After``: nothing was changed, send it again."""
    language = choose_language(
        request.headers.get("accept-language"), default_language(request.url.path)
    )
    code = "database_unavailable"
    detail = f"retry after {database_retry_after_s} s with the same Idempotency-Key"
    response = problem_response(Problem(503, code, message(code, language), detail), request)
    response.headers["Retry-After"] = str(database_retry_after_s)
    return response


def _internal() -> Problem:
    return Problem(500, "internal_error", "Internal error; the request id names it in the logs")
