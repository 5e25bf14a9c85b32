"""Operators' endpoints (read models for the treasury) need the operator token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from api.dependencies import services
from api.problems import Problem


def require_operator(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Refuse unless ``Authorization: Bearer <MSC_OPERATOR_TOKEN>`` is presented.

    An empty token never matches, not even an empty configured one.
    """
    expected = services(request).settings.operator_token.get_secret_value()
    scheme, _, presented = (authorization or "").partition(" ")
    matches = bool(presented) and hmac.compare_digest(presented.encode(), expected.encode())
    if scheme.lower() != "bearer" or not matches:
        raise Problem(
            401,
            "operator_unauthenticated",
            "Operator token required",
            "send Authorization: Bearer <MSC_OPERATOR_TOKEN>",
        )


Operator = Annotated[None, Depends(require_operator)]
