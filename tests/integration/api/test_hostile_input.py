"""Hostile input on PostgreSQL: every amount a money-taking POST route reads, given negative,
zero, huge, over-precise, float, exponent, non-ASCII-digit or padded values or a wrong asset, is
refused with a stable problem code (never a 5xx, never a 2xx) and posts, queues and stores
nothing; a merchant name whose word mixes scripts (a Greek rho in "Pecel") is refused
``merchant_name_mixed_script``, one with a bidi control or NUL ``merchant_invalid``. Deep JSON
is ``tests/e2e/test_body_limits.py``'s (``json_too_deep``)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from escrow.clock import SystemClock
from settlement.config import Settings
from settlement.unit_of_work import run
from tests.support.api import client, headers, onboarded_merchant_key, operator, service
from tests.support.locks import offer
from tests.support.merchants import merchant_body

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"
HOSTILE_AMOUNTS: list[Any] = [
    "-1",
    "0",
    "0.00",
    "1" + "0" * 30,
    "99999999999999999999.99",
    "1.123456789",
    "1e400",
    "1e-9",
    "NaN",
    "Infinity",
    " 10",
    "10 ",
    "+10",
    "\u0661\u0660",  # Arabic-Indic digits: isdigit() says yes
    "\uff11\uff10",  # fullwidth digits
    "10\x00",
    10,
    10.5,
    None,
    True,
    [],
    {},
]
WRONG_ASSETS: list[Any] = ["XYZ", "idr", "", "BTC", 1, None, "IDR\u200b"]


@dataclass(frozen=True)
class MoneyRoute:
    """A POST route, a body it accepts, and where in that body its amount and asset are."""

    path: str
    who: str
    body: dict[str, Any]
    amount: tuple[str, ...]
    asset: tuple[str, ...] | None


ROUTES = [
    MoneyRoute(
        "/v1/checkouts",
        "merchant",
        {
            "price": {"amount": "15000.00", "asset": "IDR"},
            "tenders": [{"tender": "PI", "share_bp": 10_000}],
        },
        ("price", "amount"),
        ("price", "asset"),
    ),
    MoneyRoute(
        "/v1/quotes",
        "pioneer",
        {"sell_asset": "PI", "buy_asset": "MSC", "sell_amount": "10.0000000"},
        ("sell_amount",),
        ("sell_asset",),
    ),
    MoneyRoute(
        "/v1/quotes",
        "pioneer",
        {"sell_asset": "PI", "buy_asset": "MSC", "buy_amount": "50000.00"},
        ("buy_amount",),
        ("buy_asset",),
    ),
    MoneyRoute(
        "/v1/guarantee-fund/contributions",
        "treasury",
        {"reference": "CSR-HOSTILE-1", "source": "csr", "contributor": "Bank", "amount": "25.00"},
        ("amount",),
        None,
    ),
    MoneyRoute(
        "/v1/locks",
        "pioneer",
        {"term_days": 30, "amount": "100", "maturity_action": "a2u"},
        ("amount",),
        None,
    ),
]


@pytest.fixture(scope="module")
def app(module_database_url: str) -> Iterator[FastAPI]:
    with service(module_database_url, Settings(rates_reuse_s=0)) as built:
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


@pytest.fixture(scope="module")
def callers(app: FastAPI, http: httpx.Client, module_engine: Engine) -> dict[str, str]:
    run(module_engine, SystemClock(), lambda uow: offer(uow, {30: "0.05"}, budget=10_000))
    made = http.post("/pi-sandbox/sandbox/pioneers", json={"username": "nakal", "balance": "1"})
    assert made.status_code in {200, 201}, made.text
    return {
        "merchant": onboarded_merchant_key(app, http),
        "pioneer": f"Bearer {made.json()['access_token']}",
        "treasury": operator(app),
    }


def _effects(engine: Engine) -> tuple[int, ...]:
    tables = ("transfers", "outbox", "checkouts", "quotes", "lock_positions", "merchants")
    with engine.connect() as conn:
        found = []
        for table in tables:
            exists = conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar_one()
            if exists is not None:
                found.append(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
        return tuple(found)


def _with(body: dict[str, Any], where: tuple[str, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    inner = changed
    for part in where[:-1]:
        inner = inner[part]
    inner[where[-1]] = value
    return changed


def _refused(reply: httpx.Response) -> str:
    """The refusal's code: a 4xx problem+json (not 401/403: the caller was admitted)."""
    assert 400 <= reply.status_code < 500, reply.text
    assert reply.status_code not in {401, 403, 429}, reply.text
    assert reply.headers["content-type"] == PROBLEM, reply.text
    code = reply.json()["code"]
    assert isinstance(code, str)
    assert code
    return code


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.path}:{'.'.join(r.amount)}")
def test_every_hostile_amount_and_asset_is_refused_and_nothing_happens(
    route: MoneyRoute, http: httpx.Client, callers: dict[str, str], module_engine: Engine
) -> None:
    authorization = callers[route.who]
    accepted = http.post(route.path, json=route.body, headers=headers(authorization))
    assert accepted.status_code == 201, accepted.text  # the body is fine but for what we break
    before = _effects(module_engine)
    codes: dict[str, str] = {}
    hostile = [(route.amount, value) for value in HOSTILE_AMOUNTS]
    if route.asset is not None:
        hostile += [(route.asset, value) for value in WRONG_ASSETS]
    for where, value in hostile:
        body = _with(route.body, where, value)
        reply = http.post(route.path, json=body, headers=headers(authorization))
        try:
            codes[f"{'.'.join(where)}={value!r}"] = _refused(reply)
        except AssertionError as failure:
            failure.add_note(f"{route.path} {'.'.join(where)}={value!r}")
            raise
    assert _effects(module_engine) == before
    assert "internal_error" not in codes.values()


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("\u03a1ecel \u0392u Tin", "merchant_name_mixed_script"),  # Greek Rho and Beta
        ("Pecel Bu T\u0456n", "merchant_name_mixed_script"),  # Cyrillic i
        ("Pecel\u202e Bu Tin", "merchant_invalid"),  # right-to-left override
        ("Pecel\u2066Bu Tin", "merchant_invalid"),  # left-to-right isolate
        ("Pecel\x00Bu Tin", "merchant_invalid"),
        ("Pecel\u200bBu Tin", "merchant_invalid"),  # zero-width space
    ],
)
def test_a_confusable_or_hidden_merchant_name_is_refused_with_its_code(
    name: str, code: str, http: httpx.Client, callers: dict[str, str], module_engine: Engine
) -> None:
    before = _effects(module_engine)
    reply = http.post(
        "/v1/merchants", json=merchant_body(name=name), headers=headers(callers["treasury"])
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["code"] == code
    assert _effects(module_engine) == before


@pytest.mark.parametrize(
    "name", ["Café Ñoño", "Warung 99", "Москва Кафе", "東京タワー", "Bu Tin-2"]
)
def test_a_name_in_one_script_per_word_is_accepted(
    name: str, http: httpx.Client, callers: dict[str, str]
) -> None:
    reply = http.post(
        "/v1/merchants", json=merchant_body(name=name), headers=headers(callers["treasury"])
    )
    assert reply.status_code == 201, reply.text


@pytest.mark.parametrize("reference", ["INV\u202e1", "INV\u2066-1", "INV\x001", "INV\u200b1"])
def test_a_hidden_character_in_a_checkout_reference_is_refused(
    reference: str, http: httpx.Client, callers: dict[str, str], module_engine: Engine
) -> None:
    """References are the merchant's own text (any script it writes them in), but never a
    character that hides or reorders what a reader sees."""
    before = _effects(module_engine)
    body = _with(ROUTES[0].body, ("merchant_reference",), reference)
    reply = http.post("/v1/checkouts", json=body, headers=headers(callers["merchant"]))
    assert reply.status_code == 422, reply.text
    assert reply.json()["code"] == "checkout_reference_invalid"
    assert _effects(module_engine) == before
