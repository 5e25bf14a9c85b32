"""Which requests need an Idempotency-Key, and which answers are kept for replay."""

from __future__ import annotations

import json

import pytest

from api.idempotency import covered, kept
from settlement.idempotency import StoredAnswer

PROBLEM = "application/problem+json"


def _problem(status: int, code: str) -> StoredAnswer:
    return StoredAnswer(status, json.dumps({"code": code, "status": status}).encode(), PROBLEM)


@pytest.mark.parametrize(
    ("method", "path", "needs"),
    [
        ("POST", "/v1/merchants", True),
        ("DELETE", "/v1/keys/x", True),
        ("PUT", "/v1/anything", True),
        ("PATCH", "/v1/anything", True),
        ("GET", "/v1/merchants", False),
        ("HEAD", "/v1/merchants", False),
        ("POST", "/v1/pi/payments/x/approve", False),
        ("POST", "/v1/qris/notifications/midtrans", False),
        ("POST", "/v1.0/qr/qr-mpm-notify", False),
        ("POST", "/pi-sandbox/sandbox/pioneers", False),
        ("POST", "/healthz", False),
    ],
)
def test_state_changing_requests_under_v1_need_a_key(method: str, path: str, needs: bool) -> None:
    assert covered(method, path) is needs


@pytest.mark.parametrize(
    ("answer", "keep"),
    [
        (StoredAnswer(201, b"{}", "application/json"), True),
        (StoredAnswer(200, b"{}", "application/json"), True),
        (_problem(409, "merchant_exists"), True),
        (_problem(404, "merchant_unknown"), True),
        (_problem(422, "merchant_invalid"), True),
        (StoredAnswer(422, b"not json", PROBLEM), True),
        (_problem(422, "invalid_request"), False),
        (_problem(401, "unauthenticated"), False),
        (_problem(403, "forbidden"), False),
        (_problem(500, "internal_error"), False),
        (_problem(503, "pi_unavailable"), False),
    ],
    ids=lambda value: str(getattr(value, "status_code", value)),
)
def test_an_answer_is_kept_unless_nothing_ran_or_it_rolled_back(
    answer: StoredAnswer, keep: bool
) -> None:
    assert kept(answer) is keep
