"""Merchants and API keys through HTTP on PostgreSQL: onboarding (idempotent, conflicts, static
QRIS checked), suspension with who and when, keys shown once and hashed at rest, revoked keys
refused, a merchant key scoped to its merchant, ``last_used_at`` written at most once a minute."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from tests.support.api import bearer, client, headers, operator, service
from tests.support.merchants import GOPAY_STATIC, fresh_id, merchant_body, static_qris

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app(database_url: str, db_engine: Engine) -> Iterator[FastAPI]:
    with service(database_url) as built:
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


@pytest.fixture(scope="module")
def treasury(app: FastAPI) -> str:
    return operator(app)


def _onboard(http: httpx.Client, treasury: str, body: dict[str, Any]) -> httpx.Response:
    return http.post("/v1/merchants", json=body, headers=headers(treasury))


def _merchant_key(http: httpx.Client, treasury: str, merchant_id: str) -> dict[str, Any]:
    reply = http.post(
        f"/v1/merchants/{merchant_id}/keys", json={"label": "till"}, headers=headers(treasury)
    )
    assert reply.status_code == 201, reply.text
    found: dict[str, Any] = reply.json()
    return found


def _count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _problem(reply: httpx.Response, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == code


def test_onboarding_answers_the_merchant_and_repeats_idempotently(
    http: httpx.Client, treasury: str
) -> None:
    body = merchant_body()
    first = _onboard(http, treasury, body)
    assert first.status_code == 201, first.text
    merchant = first.json()
    assert merchant["id"] == body["id"]
    assert merchant["nmid"] == body["nmid"]
    assert merchant["tenders"] == ["PI", "QRIS"]
    assert merchant["settlement"] == {"PI": "PI", "QRIS": "IDR"}
    assert merchant["status"] == "active"
    assert merchant["created_by"] == "treasury:operator"
    again = _onboard(http, treasury, body)  # another Idempotency-Key, the same fields
    assert again.status_code == 201
    assert again.json() == merchant
    shown = http.get(f"/v1/merchants/{body['id']}", headers={"Authorization": treasury})
    assert shown.status_code == 200
    assert shown.json() == merchant


def test_the_nmid_comes_from_the_static_payload_and_defaults_settle_in_the_own_asset(
    http: httpx.Client, treasury: str
) -> None:
    body = merchant_body(tenders=["QRIS", "MSC"], settlement={})
    payload_nmid = body.pop("nmid")
    reply = _onboard(http, treasury, body)
    assert reply.status_code == 201, reply.text
    assert reply.json()["nmid"] == payload_nmid
    assert reply.json()["settlement"] == {"QRIS": "IDR", "MSC": "MSC"}


def test_other_fields_under_a_taken_id_are_refused_and_nothing_changes(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    body = merchant_body()
    assert _onboard(http, treasury, body).status_code == 201
    _problem(_onboard(http, treasury, body | {"name": "Pecel Pak Tin"}), 409, "merchant_exists")
    shown = http.get(f"/v1/merchants/{body['id']}", headers={"Authorization": treasury})
    assert shown.json()["name"] == "Pecel Bu Tin"


def test_an_nmid_of_another_merchant_is_refused(http: httpx.Client, treasury: str) -> None:
    first = merchant_body()
    assert _onboard(http, treasury, first).status_code == 201
    second = merchant_body(nmid=first["nmid"], static_qris=first["static_qris"])
    _problem(_onboard(http, treasury, second), 409, "merchant_nmid_taken")


BAD_STATIC = {
    "crc": ("merchant_qris_invalid", GOPAY_STATIC[:-4] + "0000"),
    "dynamic": (
        "merchant_qris_invalid",
        "00020101021226610014COM.GO-JEK.WWW01189360091435456007810210G5456007810303UMI51440014"
        "ID.CO.QRIS.WWW0215ID10190000023280303UMI5204581253033605405150005802ID5916Kantin Ibu"
        " Lilik6013Jakarta Pusat61051031062070703A016304A740",
    ),
    "nmid_disagrees": ("merchant_qris_invalid", static_qris("ID0000000000001")),
    "missing": ("merchant_qris_required", None),
}


@pytest.mark.parametrize("case", sorted(BAD_STATIC))
def test_a_bad_or_missing_static_qris_is_refused_and_nothing_written(
    http: httpx.Client, treasury: str, db_engine: Engine, case: str
) -> None:
    code, payload = BAD_STATIC[case]
    body = merchant_body(static_qris=payload)
    _problem(_onboard(http, treasury, body), 422, code)
    assert _count(db_engine, "SELECT count(*) FROM merchants WHERE id = :id", id=body["id"]) == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"settlement": {"QRIS": "PI"}},
        {"settlement": {"MSCP": "IDR"}},
        {"name": "   "},
    ],
    ids=["qris_in_pi", "tender_not_accepted", "blank_name"],
)
def test_invalid_merchant_fields_are_refused(
    http: httpx.Client, treasury: str, db_engine: Engine, changes: dict[str, Any]
) -> None:
    body = merchant_body(**changes)
    _problem(_onboard(http, treasury, body), 422, "merchant_invalid")
    assert _count(db_engine, "SELECT count(*) FROM merchants WHERE id = :id", id=body["id"]) == 0


def test_suspension_and_reactivation_record_who_and_when(http: httpx.Client, treasury: str) -> None:
    body = merchant_body()
    assert _onboard(http, treasury, body).status_code == 201
    suspended = http.post(f"/v1/merchants/{body['id']}/suspend", headers=headers(treasury))
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["status_changed_by"] == "treasury:operator"
    assert suspended.json()["status_changed_at"] is not None
    twice = http.post(f"/v1/merchants/{body['id']}/suspend", headers=headers(treasury))
    assert twice.json() == suspended.json()  # nothing changed, not even the time
    back = http.post(f"/v1/merchants/{body['id']}/reactivate", headers=headers(treasury))
    assert back.json()["status"] == "active"
    assert back.json()["status_changed_at"] >= suspended.json()["status_changed_at"]
    unknown = http.post(f"/v1/merchants/{fresh_id()}/suspend", headers=headers(treasury))
    _problem(unknown, 404, "merchant_unknown")


def test_merchants_are_listed_a_page_at_a_time(http: httpx.Client, treasury: str) -> None:
    ids = sorted(fresh_id("PG") for _ in range(3))
    for merchant_id in ids:
        assert _onboard(http, treasury, merchant_body(merchant_id)).status_code == 201
    auth = {"Authorization": treasury}
    after = ids[0][:-1]  # just before the first of ours
    page = http.get("/v1/merchants", params={"after": after, "limit": 2}, headers=auth).json()
    seen = [m["id"] for m in page["items"]]
    rest = http.get(
        "/v1/merchants", params={"after": page["next_after"], "limit": 2}, headers=auth
    ).json()
    seen += [m["id"] for m in rest["items"]]
    assert [i for i in seen if i in ids] == ids[: len([i for i in seen if i in ids])]
    assert set(ids[:2]) <= set(seen)


def test_a_key_is_shown_once_and_stored_only_as_its_digest(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    body = merchant_body()
    assert _onboard(http, treasury, body).status_code == 201
    issued = _merchant_key(http, treasury, body["id"])
    token = issued["token"]
    prefix, _, secret = token.partition("_")[2].partition("_")
    assert issued["prefix"] == f"msk_{prefix}"
    assert len(secret) >= 43  # 32 bytes of base64url
    assert issued["role"] == "merchant"
    assert issued["owner"] == body["id"]
    listed = http.get(f"/v1/merchants/{body['id']}/keys", headers={"Authorization": treasury})
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json()["items"]] == [issued["id"]]
    assert secret not in listed.text
    assert "token" not in listed.json()["items"][0]
    with db_engine.connect() as conn:
        row = conn.execute(
            text("SELECT * FROM api_keys WHERE id = :id"), {"id": issued["id"]}
        ).one()
        stored = conn.execute(
            text("SELECT count(*) FROM idempotency_keys WHERE position(:s in response_body) > 0"),
            {"s": secret.encode()},
        ).scalar_one()
    assert secret not in str(tuple(row))
    assert secret.encode() not in b"".join(v for v in row if isinstance(v, bytes | memoryview))
    assert bytes(row.secret_sha256) == hashlib.sha256(secret.encode()).digest()
    assert stored == 0  # not even in the answer kept for a retry


def test_a_retried_key_issue_replays_the_answer_without_the_token(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    body = merchant_body()
    assert _onboard(http, treasury, body).status_code == 201
    sent = headers(treasury)
    first = http.post(f"/v1/merchants/{body['id']}/keys", json={"label": "a"}, headers=sent)
    replay = http.post(f"/v1/merchants/{body['id']}/keys", json={"label": "a"}, headers=sent)
    assert first.status_code == replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert first.json()["token"]
    assert replay.json() == first.json() | {"token": None}
    owner = body["id"]
    assert _count(db_engine, "SELECT count(*) FROM api_keys WHERE owner = :o", o=owner) == 1


def test_a_merchant_key_sees_only_its_merchant(http: httpx.Client, treasury: str) -> None:
    own, other = merchant_body(), merchant_body()
    for body in (own, other):
        assert _onboard(http, treasury, body).status_code == 201
    key = bearer(_merchant_key(http, treasury, own["id"])["token"])
    assert http.get(f"/v1/merchants/{own['id']}", headers={"Authorization": key}).status_code == 200
    _problem(
        http.get(f"/v1/merchants/{other['id']}", headers={"Authorization": key}), 403, "forbidden"
    )
    _problem(
        http.get(f"/v1/merchants/{fresh_id()}", headers={"Authorization": key}), 403, "forbidden"
    )
    _problem(http.get("/v1/merchants", headers={"Authorization": key}), 403, "forbidden")
    _problem(
        http.post(f"/v1/merchants/{own['id']}/suspend", headers=headers(key)), 403, "forbidden"
    )


def test_a_revoked_key_is_refused(http: httpx.Client, treasury: str) -> None:
    body = merchant_body()
    assert _onboard(http, treasury, body).status_code == 201
    issued = _merchant_key(http, treasury, body["id"])
    key = {"Authorization": bearer(issued["token"])}
    assert http.get(f"/v1/merchants/{body['id']}", headers=key).status_code == 200
    revoked = http.delete(f"/v1/keys/{issued['id']}", headers=headers(treasury))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_by"] == "treasury:operator"
    assert revoked.json()["revoked_at"] is not None
    _problem(http.get(f"/v1/merchants/{body['id']}", headers=key), 401, "unauthenticated")
    again = http.delete(f"/v1/keys/{issued['id']}", headers=headers(treasury))
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


def test_last_used_is_written_at_most_once_a_minute(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    body = merchant_body()
    assert _onboard(http, treasury, body).status_code == 201
    issued = _merchant_key(http, treasury, body["id"])
    assert issued["last_used_at"] is None
    key = {"Authorization": bearer(issued["token"])}

    def last_used() -> object:
        with db_engine.connect() as conn:
            return conn.execute(
                text("SELECT last_used_at FROM api_keys WHERE id = :id"), {"id": issued["id"]}
            ).scalar_one()

    http.get(f"/v1/merchants/{body['id']}", headers=key)
    first = last_used()
    assert first is not None
    http.get(f"/v1/merchants/{body['id']}", headers=key)
    assert last_used() == first
    with db_engine.begin() as conn:
        conn.execute(
            text("UPDATE api_keys SET last_used_at = last_used_at - interval '61 seconds'"
                 " WHERE id = :id"),
            {"id": issued["id"]},
        )  # fmt: skip
    http.get(f"/v1/merchants/{body['id']}", headers=key)
    assert last_used() > first  # type: ignore[operator]


def test_a_key_for_an_unknown_merchant_is_refused_and_nothing_written(
    http: httpx.Client, treasury: str, db_engine: Engine
) -> None:
    merchant_id = fresh_id()
    reply = http.post(
        f"/v1/merchants/{merchant_id}/keys", json={"label": "till"}, headers=headers(treasury)
    )
    _problem(reply, 404, "merchant_unknown")
    assert _count(db_engine, "SELECT count(*) FROM api_keys WHERE owner = :o", o=merchant_id) == 0


def test_treasury_and_gateway_keys(http: httpx.Client, treasury: str) -> None:
    officer = http.post(
        "/v1/keys",
        json={"role": "treasury", "owner": "officer1", "label": "desk"},
        headers=headers(treasury),
    )
    assert officer.status_code == 201, officer.text
    officer_key = bearer(officer.json()["token"])
    body = merchant_body()
    onboarded = _onboard(http, officer_key, body)
    assert onboarded.json()["created_by"] == "treasury:officer1"
    gateway = http.post(
        "/v1/keys",
        json={"role": "gateway", "owner": "midtrans", "label": "notify"},
        headers=headers(officer_key),
    ).json()
    gateway_key = {"Authorization": bearer(gateway["token"])}
    _problem(http.get(f"/v1/merchants/{body['id']}", headers=gateway_key), 403, "forbidden")
    _problem(
        http.post(
            "/v1/keys",
            json={"role": "merchant", "owner": fresh_id(), "label": "till"},
            headers=headers(treasury),
        ),
        404,
        "merchant_unknown",
    )


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer msk_nope",
        "Basic dXNlcjpwYXNz",
        "Bearer msk_abcdefgh1234_" + "A" * 43,
    ],
    ids=["none", "empty", "malformed", "basic", "unknown"],
)
def test_without_a_valid_key_the_answer_is_401(
    http: httpx.Client, authorization: str | None
) -> None:
    auth = {"Authorization": authorization} if authorization else {}
    _problem(http.get("/v1/merchants", headers=auth), 401, "unauthenticated")
