"""A published month for the public audit API and page tests: two merchants and a Pioneer
(from the in-process Pi sandbox) with transfers in a month that is closed, exported into the
publish directory and signed by two officers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI
from nacl.signing import SigningKey
from pydantic import SecretStr
from sqlalchemy import Engine

from escrow.clock import FixedClock, SystemClock
from escrow.ledger import Ledger
from escrow.model import AccountKind, ResultCode, TransferRequest
from escrow.periods import period, period_of
from settlement.audit.cumulative import LogConfig
from settlement.audit.export import export_period
from settlement.audit.note import generate_signer
from settlement.audit.signing import Officers, sign_bundle
from settlement.config import Settings
from settlement.unit_of_work import bind
from tests.integration.audit.test_audit_export_pg import KEY, close
from tests.support.api import bearer, client, headers, operator, service
from tests.support.merchants import merchant_body

day_s = 24 * 3600


@dataclass
class World:
    app: FastAPI
    http: httpx.Client
    month: str
    bundle: Path
    pioneer: dict[str, str]
    merchant: str
    merchant_key: str
    other_key: str
    pioneer_transfer: str
    merchant_transfer: str
    engine: Engine


LOG_ORIGIN = "madiun.go.id/msc/transfers"


def _officers() -> tuple[Officers, list[SigningKey]]:
    keys = [SigningKey.generate(), SigningKey.generate()]
    return Officers(
        2, tuple((f"o{i}", bytes(k.verify_key).hex()) for i, k in enumerate(keys))
    ), keys


def _key(http: httpx.Client, staff: str, merchant_id: str) -> str:
    reply = http.post(
        f"/v1/merchants/{merchant_id}/keys", json={"label": "audit"}, headers=headers(staff)
    )
    assert reply.status_code == 201, reply.text
    return bearer(reply.json()["token"])


@contextmanager
def published_world(
    database_url: str, engine: Engine, publish: Path, **settings_fields: object
) -> Iterator[World]:
    """The app on ``database_url`` serving the month published under ``publish``."""
    settings = Settings(
        audit_publish_dir=publish,
        pseudonym_key=SecretStr(KEY.decode()),
        **settings_fields,  # type: ignore[arg-type]
    )
    with service(database_url, settings) as app, client(app) as http:
        staff = operator(app)
        own, other = merchant_body(), merchant_body()
        for body in (own, other):
            assert http.post("/v1/merchants", json=body, headers=headers(staff)).status_code == 201
        pioneer = http.post(
            "/pi-sandbox/sandbox/pioneers", json={"username": "auditor", "balance": "1"}
        ).json()
        with engine.connect() as conn:
            last = conn.exec_driver_sql("SELECT last_value FROM ledger_ts_seq").scalar_one()
        clock = FixedClock(period(period_of(int(last) + 40 * day_s * 10**6)).starts_at_us)
        clock.advance(3 * day_s)
        month = period_of(clock.now_us())
        ids = {}
        with engine.begin() as conn:
            ledger = Ledger(conn, clock)
            ledger.ensure_account("treasury:audit:IDR", "IDR", AccountKind.ASSET, owner="treasury")
            ledger.ensure_account("treasury:audit:PI", "PI", AccountKind.ASSET, owner="treasury")
            accounts = {
                "pioneer": (f"pioneer:{pioneer['uid']}:audit:PI", "PI", pioneer["uid"]),
                "own": (f"merchant:{own['id']}:audit:IDR", "IDR", own["id"]),
                "other": (f"merchant:{other['id']}:audit:IDR", "IDR", other["id"]),
            }
            for code, asset, owner in accounts.values():
                ledger.ensure_account(code, asset, AccountKind.LIABILITY, owner=owner)
            for name, (code, asset, _) in accounts.items():
                for amount in (1500, 2500):
                    clock.advance(60)
                    transfer = uuid.uuid4()
                    ids.setdefault(name, str(transfer))
                    request = TransferRequest(
                        transfer, f"treasury:audit:{asset}", code, amount, asset, "test.audit"
                    )
                    assert ledger.post(request).code is ResultCode.OK
            close(ledger, clock, month)
        officers, keys = _officers()
        out = publish / month
        with engine.begin() as conn:
            log = LogConfig(LOG_ORIGIN, generate_signer(LOG_ORIGIN))
            export_period(
                bind(conn, SystemClock()), month, out, KEY, officers, "t", log=log
            ).publish()
        for key in keys:
            sign_bundle(out, key)
        yield World(
            app,
            http,
            month,
            out,
            pioneer,
            own["id"],
            _key(http, staff, own["id"]),
            _key(http, staff, other["id"]),
            ids["pioneer"],
            ids["own"],
            engine,
        )
