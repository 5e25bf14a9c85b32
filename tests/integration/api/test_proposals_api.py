"""Governance over HTTP: the treasury proposes, posts officers' signatures over the answered
``message`` and executes with 2 of 3; refusals are problems with their codes; anyone reads the
governance log."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from nacl.signing import SigningKey

from settlement import parameters
from settlement.governance import treasury
from settlement.unit_of_work import UnitOfWork, run
from tests.support import governance
from tests.support.api import client, headers, operator, service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app(module_database_url: str) -> Iterator[FastAPI]:
    with service(module_database_url) as built:
        wired = built.state.services

        def register(uow: UnitOfWork) -> None:
            treasury.register_officers(uow, governance.officers(), governance.THRESHOLD)

        run(wired.engine, wired.clock, register)
        yield built


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with client(app) as found:
        yield found


def signature(key: SigningKey, message_hex: str) -> dict[str, str]:
    signed = key.sign(bytes.fromhex(message_hex)).signature
    return {"public_key": bytes(key.verify_key).hex(), "signature": signed.hex()}


def test_propose_sign_execute_and_read_the_log(app: FastAPI, http: httpx.Client) -> None:
    staff = operator(app)
    body = {"action": "parameter.set", "params": {"name": "quote_spread_bp", "value": 120}}
    made = http.post("/v1/proposals", json=body, headers=headers(staff))
    assert made.status_code == 201, made.text
    proposal = made.json()
    assert (proposal["status"], proposal["threshold"], proposal["proposal"]["nonce"]) == (
        "open", 2, 0,
    )  # fmt: skip
    url = f"/v1/proposals/{proposal['id']}"
    first, second = governance.OFFICER_KEYS[:2]
    signed = http.post(
        f"{url}/signatures", json=signature(first, proposal["message"]), headers=headers(staff)
    )
    assert (signed.status_code, signed.json()["valid_signers"]) == (201, 1), signed.text

    stranger = signature(SigningKey.generate(), proposal["message"])
    refused = http.post(f"{url}/signatures", json=stranger, headers=headers(staff))
    assert (refused.status_code, refused.json()["code"]) == (403, "governance_signer_unknown")
    short = http.post(f"{url}/execute", headers=headers(staff))
    assert (short.status_code, short.json()["code"]) == (409, "governance_signatures_insufficient")

    http.post(f"{url}/signatures", json=signature(second, proposal["message"]),
              headers=headers(staff))  # fmt: skip
    done = http.post(f"{url}/execute", headers=headers(staff))
    assert done.status_code == 200, done.text
    assert done.json()["result"] == {"name": "quote_spread_bp", "value": 120}
    wired = app.state.services
    stored = run(wired.engine, wired.clock, lambda uow: parameters.quote_spread_bp(uow.conn))
    assert stored == 120
    again = http.post(f"{url}/execute", headers=headers(staff))
    assert (again.status_code, again.json()["code"]) == (409, "governance_proposal_replayed")

    listed = http.get("/v1/proposals", headers={"Authorization": staff}).json()
    assert [(p["id"], p["status"]) for p in listed["proposals"]] == [(proposal["id"], "executed")]
    log = http.get("/v1/governance/log")
    assert log.status_code == 200, log.text
    kinds = [entry["kind"] for entry in log.json()["entries"]]
    assert kinds == ["officers.genesis", "proposal.created", "proposal.signed",
                     "proposal.signed", "proposal.executed"]  # fmt: skip
    assert http.get("/v1/proposals").status_code == 401


def test_an_unknown_action_or_proposal_is_a_problem(app: FastAPI, http: httpx.Client) -> None:
    staff = operator(app)
    unknown = http.post("/v1/proposals", json={"action": "treasury.drain", "params": {}},
                        headers=headers(staff))  # fmt: skip
    assert (unknown.status_code, unknown.json()["code"]) == (422, "governance_action_unknown")
    missing = http.post(f"/v1/proposals/{'ab' * 32}/execute", headers=headers(staff))
    assert (missing.status_code, missing.json()["code"]) == (404, "governance_proposal_unknown")
