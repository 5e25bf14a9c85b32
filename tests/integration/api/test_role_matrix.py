"""Who may call what: every route under /v1, every caller, one request each (a matrix, not a
sample).

``POLICY`` names, for each (method, path) of the app, the callers it admits. A route missing from
it fails the test (so a route added later must say who may call it), and so does a row naming a
route that is gone. For each route and each caller one request is sent: an admitted caller never
gets 401 or 403 (it may get any other answer: a 404, a 422 for the empty body), the others always
get 401 or 403.

Callers: ``treasury`` (a treasury API key), ``operator`` (the operator token), ``merchant-own``
(a key of the merchant the path names), ``merchant-other`` (a key of another merchant),
``gateway`` (a gateway API key), ``pioneer`` (a Pioneer's Pi access token, from the in-process Pi
sandbox) and ``none`` (no credential). A route whose path names a resource of a merchant (a
checkout, ...) needs that resource in ``path_values`` so that ``merchant-own`` and
``merchant-other`` mean what they say.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from api.app import create_app
from settlement.bootstrap import build_container
from settlement.config import Settings
from tests.support.api import bearer, client, headers, operator, service
from tests.support.merchants import merchant_body

pytestmark = pytest.mark.integration

TREASURY = "treasury"
OPERATOR = "operator"
OWN = "merchant-own"
OTHER = "merchant-other"
GATEWAY = "gateway"
PIONEER = "pioneer"
NONE = "none"
CALLERS = (TREASURY, OPERATOR, OWN, OTHER, GATEWAY, PIONEER, NONE)
STAFF = frozenset({TREASURY, OPERATOR})
"""The treasury: its API keys and the operator token (a treasury principal)."""

POLICY: dict[tuple[str, str], frozenset[str]] = {
    # Pi rail: the Pioneer's Pi access token only.
    ("POST", "/v1/pi/payments/incomplete"): frozenset({PIONEER}),
    ("POST", "/v1/pi/payments/{payment_id}/approve"): frozenset({PIONEER}),
    ("POST", "/v1/pi/payments/{payment_id}/complete"): frozenset({PIONEER}),
    # QRIS gateways sign their notifications themselves: no caller of ours is admitted.
    ("POST", "/v1/qris/notifications/{provider}"): frozenset(),
    ("POST", "/v1.0/qr/qr-mpm-notify"): frozenset(),
    # Operator read models: the operator token.
    ("GET", "/v1/qris/exceptions"): frozenset({OPERATOR}),
    # Merchants and keys.
    ("POST", "/v1/merchants"): STAFF,
    ("GET", "/v1/merchants"): STAFF,
    ("GET", "/v1/merchants/{merchant_id}"): STAFF | {OWN},
    ("POST", "/v1/merchants/{merchant_id}/suspend"): STAFF,
    ("POST", "/v1/merchants/{merchant_id}/reactivate"): STAFF,
    ("POST", "/v1/merchants/{merchant_id}/keys"): STAFF,
    ("GET", "/v1/merchants/{merchant_id}/keys"): STAFF,
    ("POST", "/v1/keys"): STAFF,
    ("DELETE", "/v1/keys/{key_id}"): STAFF,
    # Checkouts: a merchant key opens and reads its own; the treasury any; the Pioneer who paid
    # disputes and pays a balance leg with the Pi access token; the treasury decides disputes.
    ("POST", "/v1/checkouts"): STAFF | {OWN, OTHER},
    ("GET", "/v1/checkouts"): STAFF | {OWN, OTHER},
    ("GET", "/v1/checkouts/{checkout_id}"): STAFF | {OWN},
    ("GET", "/v1/checkouts/{checkout_id}/events"): STAFF | {OWN},
    ("POST", "/v1/checkouts/{checkout_id}/handover"): STAFF | {OWN},
    ("POST", "/v1/checkouts/{checkout_id}/refund"): STAFF | {OWN},
    ("POST", "/v1/checkouts/{checkout_id}/decision"): STAFF,
    ("POST", "/v1/checkouts/{checkout_id}/dispute"): frozenset({PIONEER}),
    ("POST", "/v1/checkouts/{checkout_id}/legs/{tender}/pay"): frozenset({PIONEER}),
    # A merchant's read models: a merchant key reads its own; the treasury names the merchant.
    ("GET", "/v1/balances"): STAFF | {OWN, OTHER},
    ("GET", "/v1/history"): STAFF | {OWN, OTHER},
    ("GET", "/v1/statements/{month}"): STAFF | {OWN, OTHER},
    ("GET", "/v1/checkouts/{checkout_id}/qris.svg"): STAFF | {OWN},
    ("GET", "/v1/checkouts/{checkout_id}/qris.png"): STAFF | {OWN},
    # Pi-Zone campaigns and revenue-share rules: the treasury.
    ("POST", "/v1/campaigns"): STAFF,
    ("GET", "/v1/campaigns"): STAFF,
    ("GET", "/v1/share-rules/{rule_id}"): STAFF,
    # MSC against Rupiah: the treasury books deposits, issues and redeems; the Pioneer
    # withdraws to chain with the Pi access token; the reserve is public.
    ("POST", "/v1/msc/bank-deposits"): STAFF,
    ("POST", "/v1/msc/issuances"): STAFF,
    ("POST", "/v1/msc/redemptions"): STAFF,
    ("POST", "/v1/msc/withdrawals"): frozenset({PIONEER}),
    ("GET", "/v1/reserves"): frozenset(CALLERS),
    # The merchant guarantee fund: public figures; the treasury books contributions, files and
    # decides claims.
    ("GET", "/v1/guarantee-fund"): frozenset(CALLERS),
    # Treasury governance: the treasury proposes, posts signatures, executes and lists; the
    # governance log is public.
    ("POST", "/v1/proposals"): STAFF,
    ("GET", "/v1/proposals"): STAFF,
    ("POST", "/v1/proposals/{proposal_id}/signatures"): STAFF,
    ("POST", "/v1/proposals/{proposal_id}/execute"): STAFF,
    ("GET", "/v1/governance/log"): frozenset(CALLERS),
    ("POST", "/v1/guarantee-fund/contributions"): STAFF,
    ("POST", "/v1/guarantee-fund/claims"): STAFF,
    # Rates and quotes: the Pioneer asks for a firm quote with the Pi access token and reads
    # their own; the treasury reads any, reads the rate panel and enters the treasury's rate.
    ("POST", "/v1/quotes"): frozenset({PIONEER}),
    ("GET", "/v1/quotes/{quote_id}"): STAFF | {PIONEER},
    ("GET", "/v1/rates"): STAFF,
    # Pi to MSC conversions: the Pioneer converts at their quote and reads their own and their
    # balances; the treasury reads any conversion and sets a Pioneer's verification tier.
    ("POST", "/v1/conversions"): frozenset({PIONEER}),
    ("GET", "/v1/conversions/{conversion_id}"): STAFF | {PIONEER},
    ("GET", "/v1/me/balances"): frozenset({PIONEER}),
    # Lock-and-earn and MSC Points: the Pioneer locks and reads their points; a merchant
    # redeems its points; the treasury uploads data dividends and reads the budget's commitments.
    ("POST", "/v1/locks"): frozenset({PIONEER}),
    ("GET", "/v1/locks"): frozenset({PIONEER}),
    ("POST", "/v1/locks/{lock_id}/unlock"): frozenset({PIONEER}),
    ("PUT", "/v1/locks/{lock_id}/maturity-action"): frozenset({PIONEER}),
    ("GET", "/v1/me/points"): frozenset({PIONEER}),
    ("POST", "/v1/points/redemptions"): STAFF | {OWN, OTHER},
    ("POST", "/v1/points/dividends"): STAFF,
    ("GET", "/v1/points/commitments"): STAFF,
    ("PUT", "/v1/pioneers/{uid}/tier"): STAFF,
    # The daily payout batch and where payouts go: the treasury.
    ("POST", "/v1/payouts/batches"): STAFF,
    ("GET", "/v1/payouts/batches"): STAFF,
    ("GET", "/v1/payouts/batches/{batch_id}"): STAFF,
    ("GET", "/v1/payouts/batches/{batch_id}/file"): STAFF,
    ("POST", "/v1/payouts/batches/{batch_id}/confirmation"): STAFF,
    ("PUT", "/v1/merchants/{merchant_id}/payout-details"): STAFF,
    ("PUT", "/v1/payouts/refunds/{refund_id}/bank-account"): STAFF,
    # The treasury decides QRIS exceptions and Pi flags, and reads its books (decision 0026).
    ("POST", "/v1/qris/exceptions/{exception_id}/decision"): STAFF,
    ("POST", "/v1/pi-flags/{flag_id}/decision"): STAFF,
    ("GET", "/v1/books/{month}/neraca"): STAFF,
    ("GET", "/v1/books/{month}/neraca.csv"): STAFF,
    ("GET", "/v1/books/{month}/neraca.html"): STAFF,
    ("GET", "/v1/books/{month}/laba-rugi"): STAFF,
    ("GET", "/v1/books/{month}/laba-rugi.csv"): STAFF,
    ("GET", "/v1/books/{month}/laba-rugi.html"): STAFF,
    # The public audit (issue 14): anyone, no credential; receipts: a Pioneer its own with the
    # Pi access token, a merchant its own with its key, the treasury names the merchant.
    ("GET", "/v1/audit/periods"): frozenset(CALLERS),
    ("GET", "/v1/audit/periods/{month}"): frozenset(CALLERS),
    ("GET", "/v1/audit/periods/{month}/files/{file}"): frozenset(CALLERS),
    ("GET", "/v1/audit/periods/{month}/inclusion/{transfer_id}"): frozenset(CALLERS),
    ("GET", "/v1/audit/periods/{month}/cosignatures"): frozenset(CALLERS),
    ("GET", "/v1/audit/checkpoint"): frozenset(CALLERS),
    ("GET", "/v1/audit/inclusion/{transfer_id}"): frozenset(CALLERS),
    ("GET", "/v1/audit/consistency"): frozenset(CALLERS),
    ("GET", "/v1/me/receipts/{month}"): frozenset({PIONEER}),
    ("GET", "/v1/me/receipts/{month}/{transfer_id}"): frozenset({PIONEER}),
    ("GET", "/v1/receipts/{month}"): STAFF | {OWN, OTHER},
    ("GET", "/v1/receipts/{month}/{transfer_id}"): STAFF | {OWN, OTHER},
}
"""Every route under /v1 and the callers it admits."""
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
REFUSED = frozenset({401, 403})


def app_routes() -> list[tuple[str, str]]:
    """(method, path) of every route of the app under /v1 (``/v1/...`` and ``/v1.0/...``)."""
    container = build_container(Settings(), "postgresql://unused@127.0.0.1:1/none")
    app = create_app(container)
    container.engine.dispose()
    found = {
        (method, str(route.path))
        for route in iter_route_contexts(app.routes)
        if route.path is not None and re.match(r"^/v1[/.]", route.path)
        for method in route.methods or ()
        if method != "HEAD"
    }
    return sorted(found)


ROUTES = app_routes()


def test_every_route_has_a_row_and_every_row_a_route() -> None:
    assert len(ROUTES) >= len(POLICY) > 10
    assert [route for route in ROUTES if route not in POLICY] == [], "add them to POLICY"
    assert [row for row in POLICY if row not in ROUTES] == [], "remove them from POLICY"


def test_the_policy_names_known_callers_only() -> None:
    for row, admitted in POLICY.items():
        assert admitted <= set(CALLERS), row


@pytest.fixture(scope="module")
def app(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The app with every rail configured (SNAP too, so its route reaches its own check), on
    the module's own database (the matrix pays a Pi leg: custody totals stay out of the others')."""
    snap_key: Path = tmp_path_factory.mktemp("snap") / "pjp.pem"
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    snap_key.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with service(module_database_url, Settings(qris_snap_public_key_file=snap_key)) as built:
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


def _issued(http: httpx.Client, staff: str, path: str, body: dict[str, str]) -> str:
    reply = http.post(path, json=body, headers=headers(staff))
    assert reply.status_code == 201, reply.text
    return bearer(reply.json()["token"])


@pytest.fixture(scope="module")
def world(http: httpx.Client, app: FastAPI) -> dict[str, Any]:
    """Two merchants, a key for each caller, and the path values naming the own merchant's
    resources."""
    staff = operator(app)
    own, other = merchant_body(), merchant_body()
    for body in (own, other):
        assert http.post("/v1/merchants", json=body, headers=headers(staff)).status_code == 201
    pioneer = http.post(
        "/pi-sandbox/sandbox/pioneers", json={"username": "matrix", "balance": "1"}
    ).json()
    label = {"label": "matrix"}
    credentials = {
        TREASURY: _issued(http, staff, "/v1/keys", {"role": "treasury", "owner": "m", **label}),
        OPERATOR: staff,
        OWN: _issued(http, staff, f"/v1/merchants/{own['id']}/keys", label),
        OTHER: _issued(http, staff, f"/v1/merchants/{other['id']}/keys", label),
        GATEWAY: _issued(http, staff, "/v1/keys", {"role": "gateway", "owner": "g", **label}),
        PIONEER: f"Bearer {pioneer['access_token']}",
        NONE: None,
    }
    path_values = {
        "checkout_id": _paid_checkout(http, credentials[OWN], pioneer),
        "tender": "MSC",
        "month": "2026-11",
        "merchant_id": own["id"],
        "key_id": str(uuid.uuid4()),
        "lock_id": str(uuid.uuid4()),
        "payment_id": "matrix-payment",
        "provider": "xendit",
        "quote_id": _quote(http, credentials[PIONEER]),
        "conversion_id": _conversion(http, credentials[PIONEER]),
        "batch_id": "PO20261201",
        "claim_id": "fcl_0000000000000000",
        "proposal_id": "0" * 64,
        "refund_id": str(uuid.uuid4()),
        "exception_id": "1",
        "flag_id": "1",
        "transfer_id": str(uuid.uuid4()),
        "file": "manifest.json",
    }
    return {"credentials": credentials, "path_values": path_values}


def _quote(http: httpx.Client, pioneer: str) -> str:
    """A firm quote the matrix's Pioneer asked for (so that reading it meets its requester)."""
    body = {"sell_asset": "PI", "buy_asset": "MSC", "sell_amount": "1.0000000"}
    created = http.post("/v1/quotes", json=body, headers=headers(pioneer))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _conversion(http: httpx.Client, pioneer: str) -> str:
    """A conversion the matrix's Pioneer asked for (so that reading it meets its Pioneer)."""
    body = {"quote_id": _quote(http, pioneer)}
    created = http.post("/v1/conversions", json=body, headers=headers(pioneer))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _paid_checkout(http: httpx.Client, merchant: str, pioneer: dict[str, str]) -> str:
    """A checkout of the own merchant whose Pi leg the matrix's Pioneer paid (so that the
    dispute route meets its payer)."""
    body = {"price": {"amount": "1000.00", "asset": "IDR"}, "tenders": [{"tender": "PI"}]}
    created = http.post("/v1/checkouts", json=body, headers=headers(merchant))
    assert created.status_code == 201, created.text
    checkout = created.json()
    payment = checkout["legs"][0]["pi_payment"]
    pid = http.post(f"/pi-sandbox/sandbox/pioneers/{pioneer['uid']}/payments", json=payment).json()[
        "identifier"
    ]
    token = {"Authorization": f"Bearer {pioneer['access_token']}"}
    assert http.post(f"/v1/pi/payments/{pid}/approve", headers=token).status_code == 200
    txid = http.post(f"/pi-sandbox/sandbox/payments/{pid}/pay").json()["txid"]
    done = http.post(f"/v1/pi/payments/{pid}/complete", json={"txid": txid}, headers=token)
    assert done.status_code == 200, done.text
    return str(checkout["id"])


def _url(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "matrix-1"), path)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_each_caller_is_admitted_or_refused_as_the_policy_says(
    http: httpx.Client, world: dict[str, Any], method: str, path: str, caller: str
) -> None:
    admitted = caller in POLICY[method, path]
    sent = headers(world["credentials"][caller])
    reply = http.request(
        method,
        _url(path, world["path_values"]),
        json={} if method in BODY_METHODS else None,
        headers=sent,
    )
    if admitted:
        assert reply.status_code not in REFUSED, reply.text
        assert reply.status_code < 500, reply.text
    else:
        assert reply.status_code in REFUSED, reply.text
