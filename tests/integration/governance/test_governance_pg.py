"""Governance on PostgreSQL: a period close and an officer key rotation each through a 2-of-3
proposal, published in the month's bundle and accepted by ``msc-audit verify``; every refusal
by its code, with nothing recorded or done."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from escrow.clock import FixedClock
from escrow.ledger import Ledger
from escrow.model import AccountKind, ResultCode, TransferRequest
from escrow.periods import period, period_of
from settlement.audit.cli import main
from settlement.audit.export import export_period
from settlement.audit.proposal import Proposal, sign
from settlement.audit.signing import sign_bundle
from settlement.governance import log as store
from settlement.governance import treasury
from settlement.governance.audit import month_governance
from settlement.governance.errors import GovernanceRefused
from settlement.unit_of_work import UnitOfWork, bind

pytestmark = pytest.mark.integration
DEPLOYMENT = "madiun-test"
KEY = b"governance-pseudonym-key"
day_us = 24 * 3600 * 1_000_000
hour_us = 3600 * 1_000_000


def keys(count: int) -> list[SigningKey]:
    return [SigningKey.generate() for _ in range(count)]


def public(key: SigningKey) -> str:
    return bytes(key.verify_key).hex()


def named(officers: list[SigningKey]) -> tuple[tuple[str, str], ...]:
    return tuple((f"officer-{i}", public(k)) for i, k in enumerate(officers))


@pytest.fixture
def uow(module_conn: Connection, clock: FixedClock) -> UnitOfWork:
    return bind(module_conn, clock)


@pytest.fixture
def officers(uow: UnitOfWork) -> list[SigningKey]:
    three = keys(3)
    treasury.register_officers(uow, named(three), 2)
    return three


def passed(
    uow: UnitOfWork, action: str, params: dict[str, object], signers: list[SigningKey]
) -> dict[str, object]:
    """Propose, have ``signers`` sign, execute."""
    proposal = treasury.propose(uow, DEPLOYMENT, action, params, uow.clock.now_us() + day_us)
    for key in signers:
        treasury.add_signature(uow, DEPLOYMENT, proposal.id(), sign(proposal, key))
    return treasury.execute(uow, DEPLOYMENT, proposal.id())


class refused:  # noqa: N801 - used as a context manager, like pytest.raises
    """Expect a ``GovernanceRefused`` with exactly this code."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: object, trace: object) -> bool:
        assert isinstance(error, GovernanceRefused), f"expected {self.code}, got {error!r}"
        assert error.code == self.code, (error.code, error.detail)
        return True


def log_size(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM governance_log")).scalar_one())


def test_period_close_and_key_rotation_by_2_of_3_verify_in_the_bundles(
    uow: UnitOfWork, clock: FixedClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = keys(3)
    genesis = treasury.register_officers(uow, named([a, b, c]), 2)
    pinned = tmp_path / "officers.json"
    pinned.write_text(json.dumps({k: genesis[k] for k in ("officers", "threshold")}))
    first = period_of(clock.now_us())
    ledger = Ledger(uow.conn, clock)  # accounts outside the chart, as the audit tests do
    ledger.ensure_account("gov:bank:IDR", "IDR", AccountKind.ASSET)
    ledger.ensure_account("gov:merchant:IDR", "IDR", AccountKind.LIABILITY, owner="UMG")
    move = TransferRequest(uuid.uuid4(), "gov:bank:IDR", "gov:merchant:IDR", 5_000, "IDR", "t")
    assert ledger.post(move).code is ResultCode.OK

    d = SigningKey.generate()
    clock.advance(3600)
    rotated = passed(
        uow, "officers.rotate_key", {"public_key": public(c), "new_public_key": public(d)}, [a, c]
    )
    assert rotated["result"] == {"officers": {"officers": [
        {"name": "officer-0", "public_key": public(a)},
        {"name": "officer-1", "public_key": public(b)},
        {"name": "officer-2", "public_key": public(d)},
    ], "threshold": 2}}  # fmt: skip

    clock.advance_to(period(first).ends_at_us + day_us)
    second = period_of(clock.now_us())
    closed = passed(uow, "period.close", {"period": first}, [b, d])
    assert closed["result"]["period"] == first  # type: ignore[index]
    assert (
        uow.conn.execute(
            text("SELECT closed_by FROM ledger_periods WHERE period = :p"), {"p": first}
        ).scalar_one()
        == closed["by"]
    )

    bundles = {}
    for month in (first, second):
        if month == second:
            clock.advance_to(period(second).ends_at_us + day_us)
            passed(uow, "period.close", {"period": second}, [a, d])
        held = month_governance(uow.conn, month)
        assert held is not None
        signing, entries = held
        out = tmp_path / month
        export_period(uow, month, out, KEY, signing, "test", entries).publish()
        for key in (a, d):
            sign_bundle(out, key)
        bundles[month] = out

    kinds = [
        json.loads(line)["kind"]
        for line in (bundles[first] / "governance.jsonl").read_text().splitlines()
    ]
    assert kinds == ["officers.genesis", *["proposal.created", "proposal.signed",
                     "proposal.signed", "proposal.executed"]]  # fmt: skip
    assert main(["verify", str(bundles[first]), "--officers", str(pinned)]) == 0
    out = capsys.readouterr().out
    assert "trust root's, followed through 5 governance log entries" in out
    assert main(["verify", str(bundles[second]), "--previous", str(bundles[first])]) == 0, (
        capsys.readouterr().out
    )
    # the rotated-out key no longer signs: a bundle it signs alone does not count
    february = json.loads((bundles[second] / "manifest.json").read_text())
    assert public(c) not in {o["public_key"] for o in february["signing"]["officers"]}


def test_fewer_than_m_valid_distinct_signatures_never_execute(
    uow: UnitOfWork, officers: list[SigningKey]
) -> None:
    a, b, _ = officers
    stranger = SigningKey.generate()
    params = {"name": "quote_spread_bp", "value": 120}
    proposal = treasury.propose(
        uow, DEPLOYMENT, "parameter.set", params, uow.clock.now_us() + day_us
    )
    treasury.add_signature(uow, DEPLOYMENT, proposal.id(), sign(proposal, a))
    before = log_size(uow.conn)
    with refused("governance_signature_duplicate"):
        treasury.add_signature(uow, DEPLOYMENT, proposal.id(), sign(proposal, a))
    with refused("governance_signer_unknown"):
        treasury.add_signature(uow, DEPLOYMENT, proposal.id(), sign(proposal, stranger))
    other = Proposal(proposal.action, DEPLOYMENT, proposal.nonce, proposal.expires_at_us,
                     {"name": "quote_spread_bp", "value": 999})  # fmt: skip
    forged = sign(other, b)
    with refused("governance_signature_invalid"):
        treasury.add_signature(uow, DEPLOYMENT, proposal.id(), forged)
    with refused("governance_signatures_insufficient"):
        treasury.execute(uow, DEPLOYMENT, proposal.id())
    assert log_size(uow.conn) == before
    assert (
        uow.conn.execute(
            text("SELECT count(*) FROM treasury_parameters WHERE name = 'quote_spread_bp'")
        ).scalar_one()
        == 0
    )
    treasury.add_signature(uow, DEPLOYMENT, proposal.id(), sign(proposal, b))
    done = treasury.execute(uow, DEPLOYMENT, proposal.id())
    assert done["result"] == {"name": "quote_spread_bp", "value": 120}


def test_replayed_expired_wrong_deployment_and_used_nonce_never_execute(
    uow: UnitOfWork, clock: FixedClock, officers: list[SigningKey]
) -> None:
    a, b, _ = officers
    first = passed(uow, "parameter.set", {"name": "quote_spread_bp", "value": 110}, [a, b])
    with refused("governance_proposal_replayed"):
        treasury.execute(uow, DEPLOYMENT, str(first["id"]))

    def spread(value: int, lasts_us: int, nonce: int | None = None) -> Proposal:
        params = {"name": "quote_spread_bp", "value": value}
        expires = clock.now_us() + lasts_us
        return treasury.propose(uow, DEPLOYMENT, "parameter.set", params, expires, nonce)

    with refused("governance_nonce_used"):
        spread(130, day_us, nonce=0)
    with refused("governance_nonce_ahead"):
        spread(130, day_us, nonce=5)
    late, rival = spread(140, hour_us), spread(150, day_us)
    assert late.nonce == rival.nonce == 1
    for key in (a, b):
        treasury.add_signature(uow, DEPLOYMENT, late.id(), sign(late, key))
        treasury.add_signature(uow, DEPLOYMENT, rival.id(), sign(rival, key))
    with refused("governance_wrong_deployment"):
        treasury.execute(uow, "madiun-production", late.id())
    clock.advance(2 * 3600)
    before = log_size(uow.conn)
    with refused("governance_proposal_expired"):
        treasury.execute(uow, DEPLOYMENT, late.id())
    assert log_size(uow.conn) == before
    treasury.execute(uow, DEPLOYMENT, rival.id())
    with refused("governance_nonce_used"):
        treasury.execute(uow, DEPLOYMENT, late.id())
    with refused("governance_proposal_unknown"):
        treasury.execute(uow, DEPLOYMENT, "00" * 32)


def test_the_governance_log_is_append_only_in_the_database(
    uow: UnitOfWork, officers: list[SigningKey]
) -> None:
    del officers
    for statement in (
        "UPDATE governance_log SET at_us = at_us + 1",
        "DELETE FROM governance_log",
        "TRUNCATE governance_log",
        "INSERT INTO governance_log (seq, kind, at_us, entry)"
        " VALUES (9, 'officers.genesis', 1, '{}')",
    ):
        with pytest.raises(DBAPIError, match="governance"), uow.conn.begin_nested():
            uow.conn.execute(text(statement))
    assert log_size(uow.conn) == 1
    assert store.officers_at(uow.conn) is not None
