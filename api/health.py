"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.dependencies import services
from settlement.db import migrations_at_head

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    """The process answers."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """Each dependency's check: ``ok`` or what is wrong."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


@router.get("/healthz")
def healthz() -> Liveness:
    """The process is up (says nothing about its dependencies)."""
    return Liveness(status="ok")


@router.get(
    "/readyz", responses={503: {"description": "Not ready: a check failed", "model": Readiness}}
)
def readyz(request: Request, response: Response) -> Readiness:
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
    response.status_code = 200 if ready else 503
    return Readiness(status="ready" if ready else "not_ready", checks=checks)
