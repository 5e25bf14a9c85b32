"""Governed actions in tests: 2-of-3 test officers propose, sign (offline) and execute through
``msc treasury``, as the treasury does (decision 0030)."""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey
from sqlalchemy import Engine
from typer.testing import CliRunner

from escrow.clock import SystemClock
from settlement.cli import app
from settlement.governance import log as store
from settlement.governance import treasury
from settlement.unit_of_work import UnitOfWork, bind

runner = CliRunner()
OFFICER_KEYS = tuple(SigningKey(bytes([0x60 + i]) * 32) for i in range(3))
"""Deterministic keys of the test officers (never a deployment's)."""
THRESHOLD = 2


def officers() -> tuple[tuple[str, str], ...]:
    """The test officers, named."""
    return tuple((f"officer-{i}", bytes(k.verify_key).hex()) for i, k in enumerate(OFFICER_KEYS))


def ensure_officers(engine: Engine) -> None:
    """Register the test officers (committed) unless some officers are registered already."""
    with engine.begin() as conn:
        ensure_officers_in(bind(conn, SystemClock()))


def ensure_officers_in(uow: UnitOfWork) -> None:
    """Register the test officers in ``uow``'s transaction unless some are registered (another
    test may have committed them on a shared database: the same keys)."""
    store.lock(uow.conn)
    if store.officers_at(uow.conn) is None:
        treasury.register_officers(uow, officers(), THRESHOLD)


def env_of(engine: Engine) -> dict[str, str]:
    """The CLI's environment for ``engine``'s database."""
    return {"MSC_DATABASE_URL": engine.url.render_as_string(hide_password=False)}


def govern(engine: Engine, action: str, params: dict[str, Any]) -> Any:
    """Propose ``action``, sign with two test officers, execute: the CLI's result of execute."""
    ensure_officers(engine)
    env = env_of(engine)
    with tempfile.TemporaryDirectory() as folder:
        proposal = Path(folder) / "proposal.json"
        made = runner.invoke(
            app,
            ["treasury", "propose", action, "--params", json.dumps(params), "--out",
             str(proposal)],
            env=env,
        )  # fmt: skip
        if made.exit_code != 0:
            return made
        for number, key in enumerate(OFFICER_KEYS[:THRESHOLD]):
            key_file = Path(folder) / f"key{number}"
            key_file.write_text(bytes(key).hex())
            signed = runner.invoke(app, ["treasury", "sign", str(proposal), "--key", str(key_file)])
            if signed.exit_code != 0:
                raise AssertionError(signed.output)
        return runner.invoke(
            app, ["treasury", "execute", str(proposal), "--output", "json"], env=env
        )


def govern_http(http: Any, engine: Engine, staff: str, action: str, params: dict[str, Any]) -> Any:
    """Over HTTP: propose, post two test officers' signatures, execute; the execute answer (or
    the refused proposal's)."""
    ensure_officers(engine)

    def post(path: str, body: dict[str, Any] | None = None) -> Any:
        sent = {"Authorization": staff, "Idempotency-Key": str(uuid.uuid4())}
        return http.post(path, json=body, headers=sent)

    made = post("/v1/proposals", {"action": action, "params": params})
    if made.status_code != 201:
        return made
    proposal = made.json()
    url = f"/v1/proposals/{proposal['id']}"
    for key in OFFICER_KEYS[:THRESHOLD]:
        signed = key.sign(bytes.fromhex(proposal["message"])).signature.hex()
        posted = post(f"{url}/signatures", {"public_key": bytes(key.verify_key).hex(),
                                            "signature": signed})  # fmt: skip
        if posted.status_code != 201:
            raise AssertionError(posted.text)
    return post(f"{url}/execute")
