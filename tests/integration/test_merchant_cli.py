"""`msc merchant ...` and `msc key ...` on PostgreSQL: onboarding (idempotent, refusals with
nothing written), suspension, the bootstrap treasury key printed once and accepted by the API,
revocation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from settlement.cli import app
from tests.support.api import bearer, client, headers, service
from tests.support.merchants import fresh_id, fresh_nmid, static_qris

pytestmark = pytest.mark.integration
runner = CliRunner()


def _env(engine: Engine) -> dict[str, str]:
    return {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}


def _msc(engine: Engine, *args: str) -> Any:
    return runner.invoke(app, list(args), env=_env(engine))


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _add(engine: Engine, merchant_id: str, nmid: str, *extra: str) -> Any:
    return _msc(
        engine, "merchant", "add", "--id", merchant_id, "--name", "Pecel Bu Tin",
        "--kelurahan", "Kelurahan A", "--rt", "01", "--tender", "PI", "--tender", "QRIS",
        "--static-qris", static_qris(nmid), "--settle", "PI=MSC", "--by", "officer1",
        "--output", "json", *extra,
    )  # fmt: skip


def test_merchant_add_list_suspend_reactivate(db_engine: Engine) -> None:
    merchant_id, nmid = fresh_id(), fresh_nmid()
    added = _json(_add(db_engine, merchant_id, nmid))
    assert added["nmid"] == nmid
    assert added["settlement"] == {"PI": "MSC", "QRIS": "IDR"}
    assert added["created_by"] == "cli:officer1"
    assert _json(_add(db_engine, merchant_id, nmid)) == added  # idempotent
    listed = _json(
        _msc(db_engine, "merchant", "list", "--after", merchant_id[:-1], "--output", "json")
    )
    assert merchant_id in [m["id"] for m in listed]
    suspended = _json(
        _msc(db_engine, "merchant", "suspend", merchant_id, "--by", "officer2", "-o", "json")
    )
    assert (suspended["status"], suspended["status_changed_by"]) == ("suspended", "cli:officer2")
    back = _json(
        _msc(db_engine, "merchant", "reactivate", merchant_id, "--by", "officer2", "-o", "json")
    )
    assert back["status"] == "active"
    shown = _json(_msc(db_engine, "merchant", "show", merchant_id, "--output", "json"))
    assert shown == back


def test_refusals_exit_1_and_write_nothing(db_engine: Engine) -> None:
    merchant_id = fresh_id()
    conflicting = _add(db_engine, merchant_id, fresh_nmid(), "--nmid", "ID0000000000002")
    assert conflicting.exit_code == 1
    assert "merchant_qris_invalid" in conflicting.output
    no_payload = _msc(
        db_engine, "merchant", "add", "--id", merchant_id, "--name", "x", "--kelurahan", "A",
        "--tender", "QRIS", "--by", "officer1",
    )  # fmt: skip
    assert no_payload.exit_code == 1
    assert "merchant_qris_required" in no_payload.output
    unknown = _msc(db_engine, "merchant", "key", merchant_id, "--by", "officer1")
    assert unknown.exit_code == 1
    assert "merchant_unknown" in unknown.output
    with db_engine.connect() as conn:
        merchants = conn.execute(
            text("SELECT count(*) FROM merchants WHERE id = :id"), {"id": merchant_id}
        ).scalar_one()
        keys = conn.execute(
            text("SELECT count(*) FROM api_keys WHERE owner = :id"), {"id": merchant_id}
        ).scalar_one()
    assert (merchants, keys) == (0, 0)
    assert _msc(db_engine, "merchant", "suspend", merchant_id, "--by", "x").exit_code == 1
    assert _msc(db_engine, "merchant", "show", merchant_id).exit_code == 1


def test_the_bootstrap_treasury_key_opens_the_api_until_revoked(
    db_engine: Engine, database_url: str
) -> None:
    created = _msc(
        db_engine, "key", "create", "--role", "treasury", "--owner", "bootstrap", "--by", "ops"
    )
    assert created.exit_code == 0, created.output
    token = next(line for line in created.stdout.splitlines() if line.startswith("msk_"))
    assert "Shown once" in created.stdout
    with service(database_url) as built, client(built) as http:
        body = {"id": fresh_id(), "name": "Warung Ibu Sari", "kelurahan": "Kelurahan B",
                "tenders": ["PI"]}  # fmt: skip
        onboarded = http.post("/v1/merchants", json=body, headers=headers(bearer(token)))
        assert onboarded.status_code == 201, onboarded.text
        assert onboarded.json()["created_by"] == "treasury:bootstrap"
        issued = _json(
            _msc(db_engine, "merchant", "key", body["id"], "--by", "ops", "--output", "json")
        )
        assert issued["token"].startswith(issued["prefix"] + "_")
        with db_engine.connect() as conn:
            key_id = conn.execute(
                text("SELECT id FROM api_keys WHERE prefix = :p"),
                {"p": "_".join(token.split("_")[:2])},  # msk_<prefix>
            ).scalar_one()
        revoked = _json(_msc(db_engine, "key", "revoke", str(key_id), "--by", "ops", "-o", "json"))
        assert revoked["revoked_by"] == "cli:ops"
        refused = http.get("/v1/merchants", headers={"Authorization": bearer(token)})
        assert refused.status_code == 401
    unknown = _msc(db_engine, "key", "revoke", "00000000-0000-4000-8000-000000000000", "--by", "o")
    assert unknown.exit_code == 1
    assert "api_key_unknown" in unknown.output
