"""Anchoring a month's digest on AuditAnchor (PostgreSQL + anvil), end to end: close, export,
sign, `msc audit anchor`, the outbox dispatcher publishes once, `msc audit anchors` writes
anchors.json, `msc-audit verify --rpc` reads it back; tampering, a foreign digest on chain, a
crash after sending and the next month's chaining."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from nacl.signing import SigningKey
from pydantic import SecretStr
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from chain.evm.abi import ANCHOR, decode_result, encode_call, encode_deploy
from chain.evm.anvil import ANVIL_CHAIN_ID
from chain.evm.client import Web3Client
from chain.evm.fees import FeePolicy
from chain.evm.signing import sign
from chain.evm.types import Receipt, TxRequest
from escrow.clock import FixedClock, SystemClock
from escrow.ledger import Ledger
from escrow.periods import period, period_of
from settlement.audit import bundle as b
from settlement.audit.anchor import ANCHOR_KIND, AnchorRefused, request_anchor, signed_digest
from settlement.audit.cli import main
from settlement.audit.export import export_period
from settlement.audit.signing import Officers, load_officers, sign_bundle
from settlement.bootstrap import EvmSenderOnFirstUse, register_evm
from settlement.cli.audit import app
from settlement.config import Settings
from settlement.db import make_engine
from settlement.evm.anchor import ANCHOR_PURPOSE, AnchorHandler
from settlement.evm.deployment import Deployment, RoleHolders, deploy, deploy_gas_limit
from settlement.evm.sender import SendLimits, TxSender
from settlement.evm.token import grant_role_request, publish_request
from settlement.outbox import Dispatcher, OutboxMessage
from settlement.unit_of_work import bind
from tests.database import drop_database, fresh_database, worker_database_name
from tests.evm_support import Chain, CrashAfterSend, CrashingNode
from tests.integration.audit.test_audit_export_pg import KEY, close, open_accounts, post_month

pytestmark = pytest.mark.integration

FEES = FeePolicy(
    max_fee_per_gas_cap_wei=100 * 10**9,
    priority_fee_default_wei=10**9,
    priority_fee_cap_wei=2 * 10**9,
)
day_s = 24 * 3600
runner = CliRunner()


@dataclass
class Env:
    """One test's own database, contracts and publisher key."""

    url: str
    engine: Engine
    node: Web3Client
    account: LocalAccount
    deployment: Deployment
    officers: Officers
    keys: list[SigningKey]
    clock: FixedClock
    rpc: str
    tmp: Path

    def sender(self, node: Any = None) -> TxSender:
        limits = SendLimits(confirmations=1, receipt_timeout_s=15)
        return TxSender(self.engine, node or self.node, self.account, limits)

    def cli(self, *argv: str) -> tuple[int, str]:
        env = {
            "MSC_DATABASE_URL": self.url,
            "MSC_EVM_CHAIN_ID": str(ANVIL_CHAIN_ID),
            "MSC_EVM_RPC_URL": self.rpc,
        }
        result = runner.invoke(app, list(argv), env=env)
        return result.exit_code, result.output

    def dispatcher(self) -> Dispatcher:
        """The worker's dispatcher with the handlers wired as bootstrap wires them."""
        settings = Settings(
            database_url=self.url,
            evm_rpc_url=self.rpc,
            evm_chain_id=ANVIL_CHAIN_ID,
            evm_private_key=SecretStr(self.account.key.hex()),
            evm_receipt_timeout_s=15,
        )
        dispatcher = Dispatcher(self.engine, {})
        register_evm(dispatcher, EvmSenderOnFirstUse(settings, self.engine))
        return dispatcher

    def close_and_export(self, first: bool = False) -> tuple[str, Path]:
        """Post a month, close it, export and sign its bundle; the month and the bundle."""
        with self.engine.begin() as conn:
            ledger = Ledger(conn, self.clock)
            if first:
                open_accounts(ledger)
            name = period_of(self.clock.now_us())
            post_month(ledger, self.clock)
            close(ledger, self.clock, name)
        out = self.tmp / name
        with self.engine.begin() as conn:
            export = export_period(bind(conn, SystemClock()), name, out, KEY, self.officers, "test")
        export.publish()
        for key in self.keys:
            sign_bundle(out, key)
        return name, out

    def pins(self, publisher: str | None = None, officers: bool = True) -> list[str]:
        """The auditor's flags for ``--rpc``: this chain, this contract, our publisher; with
        ``officers``, the officers pinned by the file the bundles were exported with."""
        return [
            *("--rpc", self.rpc, "--chain-id", str(ANVIL_CHAIN_ID)),
            *("--contract", self.deployment.anchor),
            *("--publisher", publisher or self.account.address),
            *(("--officers", str(self.tmp / "officers.json")) if officers else ()),
        ]

    def send(self, account: LocalAccount, request: TxRequest) -> Receipt:
        """Sign and send ``request`` from ``account`` outside the service; its receipt."""
        nonce = self.node.pending_nonce(account.address)
        tx = sign(account, ANVIL_CHAIN_ID, nonce, request, self.node.fees())
        self.node.send_raw(tx.raw)
        return self.node.wait_confirmed(tx.tx_hash, 1, 15)

    def scalar(self, sql: str, **params: object) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()

    def anchor_txs(self) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT tx_hash, status FROM evm_transactions WHERE purpose = :p ORDER BY id"),
                {"p": ANCHOR_PURPOSE},
            ).all()
        return [(str(r[0]), str(r[1])) for r in rows]

    def on_chain(self, name: str) -> tuple[str, str]:
        data = self.node.call(
            self.deployment.anchor, encode_call(ANCHOR, "anchorOf", [b.anchor_period(name)])
        )
        held = decode_result(["(bytes32,bytes32,address,uint64,uint64)"], data)[0]
        return bytes(held[0]).hex(), bytes(held[1]).hex()


@pytest.fixture(scope="module")
def publisher(evm_chain: Chain) -> LocalAccount:
    """A key of this module's own (its nonces are nobody else's), funded with test ether."""
    account: LocalAccount = Account.create()
    evm_chain.w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])  # type: ignore[arg-type]
    return account


@pytest.fixture(scope="module")
def stranger(evm_chain: Chain) -> LocalAccount:
    """Somebody else's funded key: not the service's publisher."""
    account: LocalAccount = Account.create()
    evm_chain.w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])  # type: ignore[arg-type]
    return account


@pytest.fixture
def env(
    database_server_url: str,
    worker_id: str,
    request: pytest.FixtureRequest,
    anvil_url: str,
    publisher: LocalAccount,
    tmp_path: Path,
) -> Iterator[Env]:
    """A fresh database and freshly deployed contracts: anchors on chain are append-only, so
    each test starts from an empty AuditAnchor."""
    name = f"{worker_database_name(worker_id)}_anchor_{request.node.name}"[:63]
    url = fresh_database(database_server_url, name)
    engine = make_engine(url)
    node = Web3Client(anvil_url, ANVIL_CHAIN_ID, FEES)
    me = publisher.address
    sender = TxSender(engine, node, publisher, SendLimits(1, 15))
    deployed = deploy(engine, sender, RoleHolders(me, me, me, me, me, me), 10**9)
    keys = [SigningKey.generate(), SigningKey.generate()]
    officers_file = tmp_path / "officers.json"
    entries = [
        {"name": f"o{i}", "public_key": bytes(k.verify_key).hex()} for i, k in enumerate(keys)
    ]
    officers_file.write_text(json.dumps({"threshold": 2, "officers": entries}))
    with engine.connect() as conn:
        last = conn.exec_driver_sql("SELECT last_value FROM ledger_ts_seq").scalar_one()
    start = period(period_of(int(last) + 40 * day_s * 1_000_000)).starts_at_us
    clock = FixedClock(start + 3 * day_s * 1_000_000)
    yield Env(
        url,
        engine,
        node,
        publisher,
        deployed,
        load_officers(officers_file),
        keys,
        clock,
        anvil_url,
        tmp_path,
    )
    engine.dispose()
    drop_database(database_server_url, name)


def verify(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["verify", *argv])
    return code, capsys.readouterr().out


def outbox_row(env: Env, name: str) -> tuple[str, str | None]:
    with env.engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, last_error FROM outbox WHERE kind = :k AND key = :p"),
            {"k": ANCHOR_KIND, "p": name},
        ).one()
    return str(row[0]), row[1]


def anchor_message(env: Env, name: str) -> OutboxMessage:
    with env.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT id, kind, key, payload, attempts FROM outbox WHERE kind = :k AND key = :p"
            ),
            {"k": ANCHOR_KIND, "p": name},
        ).one()
    return OutboxMessage(row[0], row[1], row[2], row[3], row[4])


def edit_anchors(bundle: Path, suffix: str, **change: object) -> Path:
    copy = bundle.with_name(f"{bundle.name}-{suffix}")
    shutil.copytree(bundle, copy)
    [entry] = json.loads((copy / b.ANCHORS).read_text())
    (copy / b.ANCHORS).write_text(json.dumps([entry | change]))
    return copy


def test_anchor_a_month_verify_it_on_chain_and_chain_the_next(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    first, bundle = env.close_and_export(first=True)
    signed = {f: (bundle / f).read_bytes() for f in (b.MANIFEST, b.SIGNATURES)}
    digest = json.loads((bundle / b.SIGNATURES).read_text())["digest"]

    code, out = env.cli("anchor", first, "--bundle", str(bundle), "--by", "officer-a")
    assert code == 0, out
    assert "anchor requested" in out
    assert env.dispatcher().dispatch_due() == 1
    assert outbox_row(env, first) == ("done", None)
    [(tx_hash, status)] = env.anchor_txs()
    assert status == "confirmed"
    assert env.on_chain(first) == (digest, "00" * 32)

    code, out = env.cli("anchors", first, "--bundle", str(bundle))
    assert code == 0, out
    [entry] = json.loads((bundle / b.ANCHORS).read_text())
    assert (entry["tx_hash"], entry["digest"], entry["period"]) == (
        tx_hash,
        digest,
        b.anchor_period(first),
    )
    assert {f: (bundle / f).read_bytes() for f in signed} == signed, "anchors change no digest"
    code, report = verify(capsys, str(bundle), *env.pins())
    assert code == 0, report
    assert f"ok anchor: {b.anchor_period(first)} anchored on chain {ANVIL_CHAIN_ID}" in report
    assert f"(pinned by --contract), publisher {env.account.address} (pinned by" in report

    nonce = env.node.pending_nonce(env.account.address)
    code, out = env.cli("anchor", first, "--bundle", str(bundle), "--by", "officer-a")
    assert (code, f"anchored in {tx_hash}" in out) == (0, True), out
    with env.engine.begin() as conn:
        AnchorHandler(env.sender())(conn, anchor_message(env, first))
    assert env.anchor_txs() == [(tx_hash, "confirmed")]
    assert env.node.pending_nonce(env.account.address) == nonce, "re-running sent nothing"
    again = env.tmp / "again"
    with env.engine.begin() as conn:
        export_period(bind(conn, SystemClock()), first, again, KEY, env.officers, "test").publish()
    assert json.loads((again / b.ANCHORS).read_text()) == [entry], "export writes the anchors"

    second, next_bundle = env.close_and_export()
    code, out = env.cli("anchor", second, "--bundle", str(next_bundle), "--by", "officer-a")
    assert code == 0, out
    assert env.dispatcher().dispatch_due() == 1
    code, out = env.cli("anchors", second, "--bundle", str(next_bundle))
    assert code == 0, out
    second_digest = json.loads((next_bundle / b.SIGNATURES).read_text())["digest"]
    assert env.on_chain(second) == (second_digest, digest), "prevDigest is the first month's"
    flags = env.pins(officers=False)
    code, report = verify(capsys, str(next_bundle), "--previous", str(bundle), *flags)
    assert code == 0, report
    assert f"ok trust_root: the officers of {first} (--previous)" in report

    cases = [
        (edit_anchors(next_bundle, "tx", tx_hash=tx_hash), "FAIL anchor_tx:"),
        (edit_anchors(next_bundle, "digest", digest=digest), "FAIL anchors:"),
        (edit_anchors(next_bundle, "period", period=b.anchor_period(first)), "FAIL anchors:"),
        (edit_anchors(next_bundle, "chain", chain_id=1), "FAIL anchor_chain:"),
    ]
    for tampered, failure in cases:
        code, report = verify(capsys, str(tampered), *env.pins())
        assert (code, report.splitlines()[-1].startswith(failure)) == (1, True), report
    code, report = verify(capsys, str(bundle), "--officers", str(env.tmp / "officers.json"))
    assert code == 0, report
    assert "anchors: 1 listed; anchor verification skipped" in report


def test_a_different_digest_on_chain_parks_the_anchor_and_fails_verification(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    name, bundle = env.close_and_export(first=True)
    digest = json.loads((bundle / b.SIGNATURES).read_text())["digest"]
    forged = bytes(reversed(bytes.fromhex(digest)))
    request = publish_request(env.deployment.anchor, b.anchor_period(name), forged, bytes(32))
    nonce = env.node.pending_nonce(env.account.address)
    tx = sign(env.account, ANVIL_CHAIN_ID, nonce, request, env.node.fees())
    env.node.send_raw(tx.raw)
    mined = env.node.wait_confirmed(tx.tx_hash, 1, 15)

    with env.engine.begin() as conn:
        request_anchor(bind(conn, SystemClock()), name, ANVIL_CHAIN_ID, signed_digest(bundle, name))
    assert env.dispatcher().dispatch_due() == 1
    status, error = outbox_row(env, name)
    assert status == "parked"
    assert error is not None
    assert "ALARM" in error
    assert forged.hex() in error
    assert env.anchor_txs() == []
    assert env.scalar("SELECT status FROM audit_anchors WHERE period = :p", p=name) == "requested"

    claim = b.EvmAnchor(
        ANVIL_CHAIN_ID,
        env.deployment.anchor,
        b.anchor_period(name),
        digest,
        "00" * 32,
        mined.tx_hash,
        mined.block_number,
    )
    (bundle / b.ANCHORS).write_text(json.dumps([claim.as_json()]))
    code, report = verify(capsys, str(bundle), *env.pins())
    assert code == 1
    assert report.splitlines()[-1].startswith("FAIL anchor_digest:"), report


def test_an_anchor_on_another_contract_or_by_another_publisher_fails(
    env: Env, stranger: LocalAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    name, bundle = env.close_and_export(first=True)
    digest = bytes.fromhex(json.loads((bundle / b.SIGNATURES).read_text())["digest"])
    period_number = b.anchor_period(name)
    deployed = env.send(
        stranger,
        TxRequest(None, encode_deploy(ANCHOR, [stranger.address]), deploy_gas_limit),
    )
    assert deployed.contract_address is not None
    own = deployed.contract_address
    env.send(stranger, grant_role_request(own, ANCHOR, "PUBLISHER_ROLE", stranger.address))
    elsewhere = env.send(stranger, publish_request(own, period_number, digest, bytes(32)))
    env.send(
        env.account,
        grant_role_request(env.deployment.anchor, ANCHOR, "PUBLISHER_ROLE", stranger.address),
    )
    by_stranger = env.send(
        stranger, publish_request(env.deployment.anchor, period_number, digest, bytes(32))
    )

    def claim(contract: str, mined: Receipt, suffix: str) -> Path:
        entry = b.EvmAnchor(
            ANVIL_CHAIN_ID,
            contract,
            period_number,
            digest.hex(),
            "00" * 32,
            mined.tx_hash,
            mined.block_number,
        )
        copy = env.tmp / f"claim-{suffix}"
        shutil.copytree(bundle, copy)
        (copy / b.ANCHORS).write_text(json.dumps([entry.as_json()]))
        return copy

    cases = [
        (claim(own, elsewhere, "own"), env.pins(), "FAIL anchor_contract:"),
        (
            claim(own, elsewhere, "own-pinned"),
            [*env.pins(), "--contract", own],
            "FAIL anchor_publisher:",
        ),
        (claim(env.deployment.anchor, by_stranger, "ours"), env.pins(), "FAIL anchor_publisher:"),
    ]
    for claimed, flags, failure in cases:
        code, report = verify(capsys, str(claimed), *flags)
        assert (code, report.splitlines()[-1].split(" ")[:2]) == (1, failure.split(" ")), report
    code, report = verify(capsys, str(env.tmp / "claim-ours"), *env.pins(stranger.address))
    assert code == 0, report


def test_a_crash_after_sending_resumes_the_same_transaction(env: Env) -> None:
    name, bundle = env.close_and_export(first=True)
    with env.engine.begin() as conn:
        request_anchor(bind(conn, SystemClock()), name, ANVIL_CHAIN_ID, signed_digest(bundle, name))
    crashing = AnchorHandler(env.sender(CrashingNode(env.node)))
    with pytest.raises(CrashAfterSend), env.engine.begin() as conn:
        crashing(conn, anchor_message(env, name))
    [(recorded, _)] = env.anchor_txs()
    assert env.scalar("SELECT status FROM audit_anchors WHERE period = :p", p=name) == "requested"
    assert env.dispatcher().dispatch_due() == 1
    assert env.anchor_txs() == [(recorded, "confirmed")]
    assert env.scalar("SELECT tx_hash FROM audit_anchors WHERE period = :p", p=name) == recorded


def test_an_anchor_found_on_chain_without_a_record_is_recorded_without_sending(
    env: Env,
) -> None:
    name, bundle = env.close_and_export(first=True)
    digest = bytes.fromhex(json.loads((bundle / b.SIGNATURES).read_text())["digest"])
    request = publish_request(env.deployment.anchor, b.anchor_period(name), digest, bytes(32))
    nonce = env.node.pending_nonce(env.account.address)
    tx = sign(env.account, ANVIL_CHAIN_ID, nonce, request, env.node.fees())
    env.node.send_raw(tx.raw)
    env.node.wait_confirmed(tx.tx_hash, 1, 15)
    with env.engine.begin() as conn:
        request_anchor(bind(conn, SystemClock()), name, ANVIL_CHAIN_ID, signed_digest(bundle, name))
    assert env.dispatcher().dispatch_due() == 1
    assert env.anchor_txs() == []
    assert env.scalar("SELECT tx_hash FROM audit_anchors WHERE period = :p", p=name) == tx.tx_hash


def test_anchor_refuses_unsigned_unrecorded_or_out_of_order_months(env: Env) -> None:
    first, first_bundle = env.close_and_export(first=True)
    second, bundle = env.close_and_export()
    code, out = env.cli("anchor", first, "--bundle", str(bundle), "--by", "officer-a")
    assert code == 1
    assert f"is the bundle of {second}, not {first}" in out
    unsigned = env.tmp / "unsigned"
    shutil.copytree(bundle, unsigned)
    document = json.loads((unsigned / b.SIGNATURES).read_text())
    (unsigned / b.SIGNATURES).write_text(json.dumps(document | {"signatures": []}))
    code, out = env.cli("anchor", second, "--bundle", str(unsigned), "--by", "officer-a")
    assert code == 1
    assert "signatures" in out
    code, out = env.cli("anchor", second, "--bundle", str(bundle), "--by", "officer-a")
    assert code == 1
    assert f"anchor {first} first" in out
    with env.engine.begin() as conn, pytest.raises(AnchorRefused, match="export it first"):
        request_anchor(bind(conn, SystemClock()), "1999-01", ANVIL_CHAIN_ID, "00" * 32)
    with env.engine.begin() as conn, pytest.raises(AnchorRefused, match="recorded with digest"):
        request_anchor(bind(conn, SystemClock()), first, ANVIL_CHAIN_ID, "00" * 32)
    assert env.scalar("SELECT count(*) FROM outbox WHERE kind = :k", k=ANCHOR_KIND) == 0
    assert env.cli("anchor", first, "--bundle", str(first_bundle), "--by", "officer-a")[0] == 0
    assert env.scalar("SELECT count(*) FROM outbox WHERE kind = :k", k=ANCHOR_KIND) == 1
