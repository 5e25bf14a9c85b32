"""A route's change and its answer, committed together.

``run_kept`` runs a use case in one unit of work, serialises the route's answer inside it and
keeps that answer for the request's Idempotency-Key in the same transaction
(``api.idempotency.keep_within``): a retry after a crash at any line either finds both the change
and its answer, or neither.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from api.dependencies import services
from api.idempotency import keep_within
from settlement.idempotency import StoredAnswer
from settlement.unit_of_work import UnitOfWork, run

__all__ = ["JSON_MEDIA_TYPE", "run_kept"]

JSON_MEDIA_TYPE = "application/json"


def run_kept(
    request: Request, work: Callable[[UnitOfWork], BaseModel], status_code: int = 200
) -> Response:
    """The answer of ``work``, run in one unit of work that also keeps it as the answer of the
    request's Idempotency-Key (retried whole on a race, like ``settlement.unit_of_work.run``)."""
    wired = services(request)

    def kept(uow: UnitOfWork) -> bytes:
        body = work(uow).model_dump_json().encode()
        keep_within(request, uow.conn, StoredAnswer(status_code, body, JSON_MEDIA_TYPE))
        return body

    body = run(wired.engine, wired.clock, kept)
    return Response(body, status_code=status_code, media_type=JSON_MEDIA_TYPE)
