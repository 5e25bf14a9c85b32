"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.dependencies import services
from settlement.db import migrations_at_head

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (says nothing about its dependencies)."""
    return {"status": "ok"}


_NOT_READY = {
    "description": "Not ready: a check failed",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "status": {"const": "not_ready"},
                    "checks": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                "required": ["status", "checks"],
            }
        }
    },
}


@router.get("/readyz", responses={503: _NOT_READY})
def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers and its migrations are at head."""
    engine = services(request).engine
    checks: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            checks["migrations"] = "ok" if migrations_at_head(conn) else "behind"
    except SQLAlchemyError as error:
        checks["database"] = f"unreachable: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values()) and len(checks) == 2
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )
