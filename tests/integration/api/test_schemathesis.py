"""Schemathesis over the service's own OpenAPI: every operation, without and with credentials.

The app runs on this worker's PostgreSQL with the in-process Pi sandbox. A 5xx, or a response
whose status, media type or body its operation does not document, fails the test; so a route a
later issue adds is covered the day it is added. Examples are few; the hypothesis profile
derandomizes them under CI (the same cases every run) and leaves them random locally, to search.

Each operation's strategy runs under hypothesis here rather than through
``schemathesis.pytest.from_fixture``: that loader (schemathesis 4.32) sets ``request.node._nodeid``,
which pytest 9 no longer has, and the app needs the per-worker database that only fixtures give.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from chain.pi.sandbox.inprocess import inprocess_client
from settlement.bootstrap import build_container
from settlement.config import Settings
from settlement.qris.notifications import SNAP_NOTIFY_PATH
from tests.support.merchants import merchant_body

pytestmark = pytest.mark.integration
Operation = APIOperation[Any, Any, Any, Any]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
examples_per_operation_max = 10
requests_max = 1_000_000
"""Rate limits out of the way: the fuzzer sends far more than a client's allowance."""
PIONEER_PREFIXES = ("/v1/pi/", "/v1/quotes", "/v1/conversions", "/v1/me/", "/v1/locks")
"""Routes a Pioneer's Pi access token calls; every other takes an API key."""
SIGNED_BODIES = frozenset({"midtrans", "snap"})
"""Gateways whose notifications carry a signature over the body: generated ones are 401."""


@pytest.fixture(scope="module")
def service(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    """The app with every gateway configured (SNAP too, so its route reaches its adapter), on
    the module's own database: a generated treasury rate it enters is a source of every later
    quote on its database, and stays out of the other modules' checkouts."""
    snap_key = tmp_path_factory.mktemp("snap") / "pjp.pem"
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    snap_key.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    unlimited = {f"{who}_requests_max": requests_max for who in ("key", "pioneer", "ip")}
    settings_ = Settings(qris_snap_public_key_file=snap_key, **unlimited)  # type: ignore[arg-type]
    container = build_container(settings_, module_database_url)
    yield create_app(container)
    container.engine.dispose()


@pytest.fixture(scope="module")
def credentials(service: FastAPI) -> dict[str, str]:
    """Every credential some route takes: the operator's token, a Pioneer's Pi access token
    (from the in-process sandbox), the Xendit callback token."""
    settings_ = service.state.services.settings
    with inprocess_client(service, "http://service.test") as http:
        pioneer = http.post(
            "/pi-sandbox/sandbox/pioneers", json={"username": "fuzz", "balance": "10"}
        ).json()
    operator = settings_.operator_token.get_secret_value()
    return {
        "operator": f"Bearer {operator}",
        "pioneer": f"Bearer {pioneer['access_token']}",
        "xendit": settings_.qris_xendit_callback_token.get_secret_value(),
    }


@pytest.fixture(scope="module")
def api_schema(service: FastAPI) -> BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", service)


def _headers(operation: Operation, credentials: dict[str, str] | None) -> dict[str, str]:
    if credentials is None:
        return {}
    pioneer = operation.path.startswith(PIONEER_PREFIXES)
    authorization = credentials["pioneer" if pioneer else "operator"]
    return {"Authorization": authorization, "X-CALLBACK-TOKEN": credentials["xendit"]}


def _variants(operation: Operation, providers: list[str]) -> list[dict[str, str]]:
    """Free path parameters, and each configured gateway by name (a random one is unknown)."""
    if "provider" not in {parameter.name for parameter in operation.path_parameters}:
        return [{}]
    return [{}, *({"provider": provider} for provider in providers)]


def _fuzz(
    operation: Operation,
    mode: GenerationMode,
    headers: dict[str, str],
    path_parameters: dict[str, str],
) -> set[int]:
    """Run the operation's cases; the statuses it answered."""
    statuses: set[int] = set()

    @settings(
        max_examples=examples_per_operation_max,
        deadline=None,
        # Each example is a request through the app and PostgreSQL; schemathesis filters cases.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case: Case[Any]) -> None:
        # Negative cases may carry a Latin-1 header value, which the ASGI client (httpx) cannot
        # encode: such a request never leaves the client. A real server receiving one is
        # tests/e2e/test_body_limits.py's Latin-1 credential test.
        assume(all(value.isascii() for value in (case.headers or {}).values()))
        if headers and case.headers:
            case.headers.pop("authorization", None)  # the generated one; ours is sent instead
        statuses.add(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    try:
        run()
    except Unsatisfiable:
        if mode is not GenerationMode.NEGATIVE:
            raise
        # Nothing in this operation's schema can be broken (no parameters, or only free strings).
    except BaseException as failure:
        failure.add_note(f"operation: {operation.label} {path_parameters}, {mode} cases")
        raise
    return statuses


@pytest.mark.parametrize("mode", list(GenerationMode))
@pytest.mark.parametrize("with_credentials", [False, True], ids=["anonymous", "credentials"])
def test_every_operation_keeps_to_its_schema(
    service: FastAPI,
    api_schema: BaseSchema,
    credentials: dict[str, str],
    mode: GenerationMode,
    with_credentials: bool,
) -> None:
    results = list(api_schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results)  # every operation's definition loads
    assert len(operations) >= 7  # the probes, the Pi callbacks, the QRIS routes
    providers = sorted(service.state.services.qris_adapters)
    answered: dict[tuple[str, str | None], set[int]] = {}
    for operation in operations:
        headers = _headers(operation, credentials if with_credentials else None)
        for fixed in _variants(operation, providers):
            statuses = _fuzz(operation, mode, headers, fixed)
            snap = "snap" if operation.path == SNAP_NOTIFY_PATH else None
            answered[operation.label, fixed.get("provider", snap)] = statuses
    if with_credentials and mode is GenerationMode.POSITIVE:
        # The credentials were taken: each operation got past authentication at least once
        # (but Midtrans and SNAP sign the body itself, which no generated body can forge).
        held = {key: got for key, got in answered.items() if key[1] not in SIGNED_BODIES}
        assert [key for key, got in held.items() if got <= {401}] == []


stateful_examples_max = 40
stateful_steps_max = 10
stateful_operations_min = 5
ROLES = ("merchant", "gateway", "pioneer", "treasury")
"""The treasury last: its runs may revoke or suspend what it finds, never the other runs' keys."""


@pytest.fixture(scope="module")
def role_keys(service: FastAPI, credentials: dict[str, str]) -> dict[str, str]:
    """A merchant's key and a gateway's key, issued by the operator (the treasury)."""
    treasury = {"Authorization": credentials["operator"]}
    with inprocess_client(service, "http://service.test") as http:
        body = merchant_body()
        onboarded = http.post("/v1/merchants", json=body, headers=_keyed(treasury))
        assert onboarded.status_code == 201, onboarded.text
        merchant = http.post(
            f"/v1/merchants/{body['id']}/keys", json={"label": "fuzz"}, headers=_keyed(treasury)
        )
        gateway = http.post(
            "/v1/keys",
            json={"role": "gateway", "owner": "fuzz-gateway", "label": "fuzz"},
            headers=_keyed(treasury),
        )
    assert merchant.status_code == gateway.status_code == 201, (merchant.text, gateway.text)
    return {
        "merchant": f"Bearer {merchant.json()['token']}",
        "gateway": f"Bearer {gateway.json()['token']}",
    }


def _keyed(found: dict[str, str]) -> dict[str, str]:
    return found | {"Idempotency-Key": str(uuid.uuid4())}


@pytest.mark.parametrize("role", ROLES)
def test_stateful_runs_of_each_role_keep_to_the_schema(
    api_schema: BaseSchema, credentials: dict[str, str], role_keys: dict[str, str], role: str
) -> None:
    """Sequences of calls chained by the links schemathesis infers (an id a POST answered used
    by the next GET, POST or DELETE), with one role's credential on every API-key route (and
    the Pioneer's on the Pioneer routes): no 5xx, nothing outside the document."""
    keys = {"treasury": credentials["operator"], **role_keys}
    pioneer = credentials["pioneer"]
    key = keys.get(role, pioneer)

    class Machine(api_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            if case.headers:
                case.headers.pop("authorization", None)
            on_pioneer_route = case.operation.path.startswith(PIONEER_PREFIXES)
            authorization = pioneer if on_pioneer_route else key
            return {
                "headers": {
                    "Authorization": authorization,
                    "X-CALLBACK-TOKEN": credentials["xendit"],
                }
            }

        def validate_response(
            self,
            response: Any,
            case: Case[Any],
            additional_checks: Any = None,
            **kwargs: Any,
        ) -> None:
            case.validate_response(response, checks=CHECKS)
            calls.append((case.operation.label, response.status_code))

    calls: list[tuple[str, int]] = []
    Machine.run(
        settings=settings(
            max_examples=stateful_examples_max,
            stateful_step_count=stateful_steps_max,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert len({label for label, _ in calls}) >= stateful_operations_min  # it reached far
