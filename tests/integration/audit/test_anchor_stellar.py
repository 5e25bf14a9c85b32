"""The second anchor (PostgreSQL + the Pi sandbox's Horizon on a socket), end to end: close,
export, sign, `msc audit anchor-stellar`, the outbox signs then submits once, `msc audit
anchors` writes the Stellar entry, `msc-audit verify --horizon` reads it back; tampering,
unpinned networks and accounts, a crash after submitting, a lost answer and a failed
transaction never give a month two anchor transactions."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy import Engine, text
from stellar_sdk import Keypair
from typer.testing import CliRunner

from chain.pi.horizon import HorizonClient, SubmitResult
from chain.pi.sandbox.app import Sandbox, build_app, make_sandbox
from chain.pi.sandbox.client import SandboxDriver
from chain.pi.sandbox.inprocess import inprocess_client
from chain.pi.transport import HttpLimits, JsonTransport
from chain.stellar.anchor import anchor_validity_s, build_anchor
from escrow.clock import FixedClock, SystemClock
from escrow.ledger import Ledger
from escrow.periods import period, period_of
from settlement.audit import bundle as b
from settlement.audit.cli import main
from settlement.audit.export import export_period
from settlement.audit.signing import Officers, load_officers, sign_bundle
from settlement.audit.stellar_anchor import STELLAR_ANCHOR_KIND, load_stellar_request
from settlement.audit.stellar_publish import StellarAnchorDeps, StellarAnchorHandler
from settlement.cli.audit import app
from settlement.db import make_engine
from settlement.outbox import Dispatcher
from settlement.unit_of_work import bind
from tests.database import drop_database, fresh_database, worker_database_name
from tests.integration.audit.test_audit_export_pg import KEY, close, open_accounts, post_month
from tests.support.asgi_server import serving
from tests.support.serving import free_port

pytestmark = pytest.mark.integration

NETWORK = "Pi Testnet"
day_s = 24 * 3600
runner = CliRunner()


@dataclass
class Env:
    """One test's database, Pi sandbox (served on a socket) and anchor account."""

    url: str
    engine: Engine
    sandbox: Sandbox
    horizon: str
    chain: HorizonClient
    anchor: Keypair
    officers: Officers
    keys: list[SigningKey]
    clock: FixedClock
    tmp: Path

    def cli(self, *argv: str) -> tuple[int, str]:
        env = {
            "MSC_DATABASE_URL": self.url,
            "MSC_AUDIT_STELLAR_SECRET": self.anchor.secret,
            "MSC_PI_NETWORK": NETWORK,
        }
        result = runner.invoke(app, list(argv), env=env)
        return result.exit_code, result.output

    def handler(self, chain: object = None) -> StellarAnchorHandler:
        deps = StellarAnchorDeps(chain or self.chain, NETWORK, self.anchor, self.clock, 120)  # type: ignore[arg-type]
        return StellarAnchorHandler(deps)

    def dispatcher(self, chain: object = None) -> Dispatcher:
        return Dispatcher(self.engine, {STELLAR_ANCHOR_KIND: self.handler(chain)})

    def close_and_export(self, first: bool = False) -> tuple[str, Path]:
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

    def pins(self, passphrase: str = NETWORK, source: str | None = None) -> list[str]:
        return [
            *("--horizon", self.horizon, "--stellar-passphrase", passphrase),
            *("--stellar-source", source or self.anchor.public_key),
            *("--officers", str(self.tmp / "officers.json")),
        ]

    def memo_transactions(self, digest: str) -> list[tuple[str, bool]]:
        """Every transaction on the sandbox's ledger whose memo hash is ``digest``."""
        memo = base64.b64encode(bytes.fromhex(digest)).decode()
        return [
            (tx_hash, bool(stored.record["successful"]))
            for tx_hash, stored in self.sandbox.chain.transactions.items()
            if stored.record.get("memo") == memo
        ]

    def row(self, name: str) -> tuple[str, str | None]:
        with self.engine.connect() as conn:
            request = load_stellar_request(conn, name)
        assert request is not None
        return request.status, request.tx_hash


@pytest.fixture
def env(
    database_server_url: str, worker_id: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Env]:
    name = f"{worker_database_name(worker_id)}_stellar_{request.node.name}"[:63]
    url = fresh_database(database_server_url, name)
    engine = make_engine(url)
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
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    anchor = Keypair.random()
    sandbox = make_sandbox(
        api_key="k", app_address=Keypair.random().public_key, base_url=base, clock=clock
    )
    sandbox.chain.fund(anchor.public_key, 10 * 10**7)
    sandbox_app = build_app(sandbox)
    with serving(sandbox_app, port) as horizon, inprocess_client(sandbox_app, base) as http:
        transport = JsonTransport(http, HttpLimits(attempts_max=2), sleep=lambda _s: None)
        yield Env(
            url,
            engine,
            sandbox,
            horizon,
            HorizonClient(transport, base),
            anchor,
            load_officers(officers_file),
            keys,
            clock,
            tmp_path,
        )
    engine.dispose()
    drop_database(database_server_url, name)


def verify(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["verify", *argv])
    return code, capsys.readouterr().out


def edit_anchor(bundle: Path, suffix: str, **change: object) -> Path:
    copy = bundle.with_name(f"{bundle.name}-{suffix}")
    shutil.copytree(bundle, copy)
    [entry] = json.loads((copy / b.ANCHORS).read_text())
    (copy / b.ANCHORS).write_text(json.dumps([entry | change]))
    return copy


def anchored_month(env: Env) -> tuple[str, Path, str]:
    """A first month exported, signed, anchored through the outbox and written to anchors.json."""
    name, bundle = env.close_and_export(first=True)
    code, out = env.cli("anchor-stellar", name, "--bundle", str(bundle), "--by", "officer-a")
    assert code == 0, out
    assert f"Stellar anchor requested from {env.anchor.public_key}" in out
    assert env.dispatcher().dispatch_due() == 2, "sign, then submit"
    code, out = env.cli("anchors", name, "--bundle", str(bundle))
    assert code == 0, out
    return name, bundle, json.loads((bundle / b.SIGNATURES).read_text())["digest"]


def test_anchor_a_month_on_horizon_and_verify_it(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    name, bundle, digest = anchored_month(env)
    [(tx_hash, successful)] = env.memo_transactions(digest)
    assert successful
    [entry] = json.loads((bundle / b.ANCHORS).read_text())
    assert entry == {
        "digest": digest,
        "kind": "stellar",
        "ledger": env.sandbox.chain.transactions[tx_hash].record["ledger"],
        "network_passphrase": NETWORK,
        "period": b.anchor_period(name),
        "source_account": env.anchor.public_key,
        "tx_hash": tx_hash,
    }
    code, report = verify(capsys, str(bundle), *env.pins())
    assert code == 0, report
    assert f"ok stellar_anchor: {b.anchor_period(name)} anchored on 'Pi Testnet'" in report
    assert "(pinned by --stellar-passphrase), source account" in report

    code, out = env.cli("anchor-stellar", name, "--bundle", str(bundle), "--by", "officer-a")
    assert (code, "Stellar anchor anchored" in out) == (0, True), out
    assert env.dispatcher().dispatch_due() == 0, "asking again queues nothing"
    assert env.memo_transactions(digest) == [(tx_hash, True)]

    code, report = verify(capsys, str(bundle), "--officers", str(env.tmp / "officers.json"))
    assert code == 0, report
    assert "stellar_anchors: 1 listed; verification skipped (no --horizon given)" in report


def test_tampered_unpinned_or_lied_about_stellar_anchors_are_named(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    _name, bundle, digest = anchored_month(env)
    [entry] = json.loads((bundle / b.ANCHORS).read_text())
    stranger = Keypair.random()
    env.sandbox.chain.fund(stranger.public_key, 10**7)
    account = env.chain.account(stranger.public_key)
    forged = build_anchor(
        signer=stranger,
        account_sequence=account.sequence,
        digest=bytes.fromhex(digest),
        base_fee_stroops=100_000,
        network_passphrase=NETWORK,
        now_unix=env.clock.now_us() // 1_000_000,
    )
    other = env.chain.submit(forged.envelope_xdr)
    mine = env.anchor
    other_digest = build_anchor(
        signer=mine,
        account_sequence=env.chain.account(mine.public_key).sequence,
        digest=bytes(32),
        base_fee_stroops=100_000,
        network_passphrase=NETWORK,
        now_unix=env.clock.now_us() // 1_000_000,
    )
    wrong_memo: SubmitResult = env.chain.submit(other_digest.envelope_xdr)
    cases = [
        ({"tx_hash": other.tx_hash, "ledger": other.ledger}, [], "FAIL anchor_source:"),
        ({"tx_hash": wrong_memo.tx_hash, "ledger": wrong_memo.ledger}, [], "FAIL anchor_memo:"),
        ({"ledger": entry["ledger"] + 1}, [], "FAIL anchor_tx: anchor 1: not in ledger"),
        ({"tx_hash": "ab" * 32}, [], "FAIL anchor_horizon: anchor 1:"),
        ({"digest": "11" * 32}, [], "FAIL anchors: anchor 1 names another period or digest"),
        ({"source_account": stranger.public_key}, [], "FAIL anchor_source: anchor 1 is from"),
        ({"network_passphrase": "Other"}, [], "FAIL anchor_network: anchor 1 is on 'Other'"),
        (
            {"network_passphrase": "Other"},
            env.pins(passphrase="Other"),
            "FAIL anchor_network: anchor 1: " + env.horizon,
        ),
        ({}, env.pins(source=stranger.public_key), "FAIL anchor_source: anchor 1 is from"),
        ({"ledger": 0}, [], "FAIL anchors: anchor 1: period and ledger must be > 0"),
        ({"tx_hash": "0x" + "ab" * 32}, [], "FAIL anchors: anchor 1: tx_hash must be"),
        ({"source_account": "0x" + "12" * 20}, [], "FAIL anchors: anchor 1: source_account"),
        ({"prev_digest": "00" * 32}, [], "FAIL anchors: anchor 1: fields must be"),
    ]
    for number, (change, flags, expected) in enumerate(cases):
        copy = edit_anchor(bundle, str(number), **change)
        code, report = verify(capsys, str(copy), *(flags or env.pins()))
        assert (code, report.splitlines()[-1][: len(expected)]) == (1, expected), (change, report)

    env.sandbox.chain.fail_next = 1
    failed = build_anchor(
        signer=mine,
        account_sequence=env.chain.account(mine.public_key).sequence,
        digest=bytes.fromhex(digest),
        base_fee_stroops=100_000,
        network_passphrase=NETWORK,
        now_unix=env.clock.now_us() // 1_000_000,
    )
    assert env.sandbox.chain.submit(failed.envelope_xdr).status == 400
    copy = edit_anchor(bundle, "failed", tx_hash=failed.tx_hash)
    code, report = verify(capsys, str(copy), *env.pins())
    assert code == 1
    assert report.splitlines()[-1] == (
        f"FAIL anchor_tx: anchor 1: transaction {failed.tx_hash} did not succeed"
    )

    stored = env.sandbox.chain.transactions[entry["tx_hash"]].record
    honest = dict(stored)
    lies = [
        (
            {"memo": base64.b64encode(bytes(32)).decode()},
            "FAIL anchor_memo: anchor 1: Horizon shows",
        ),
        (
            {"envelope_xdr": other_digest.envelope_xdr},
            "FAIL anchor_tx: anchor 1: the envelope does",
        ),
        ({"envelope_xdr": "AAAA"}, "FAIL anchor_tx: anchor 1: Horizon's envelope does not decode"),
        ({"successful": False}, "FAIL anchor_tx: anchor 1: transaction"),
        ({"source_account": stranger.public_key}, "FAIL anchor_source: anchor 1: sent by"),
    ]
    for lie, expected in lies:
        stored.update(lie)
        code, report = verify(capsys, str(bundle), *env.pins())
        assert (code, report.splitlines()[-1][: len(expected)]) == (1, expected), (lie, report)
        stored.clear()
        stored.update(honest)
    code, report = verify(capsys, str(bundle), *env.pins())
    assert code == 0, report
    code, _out = verify(capsys, str(bundle), "--horizon", env.horizon, "--trust-bundle-officers")
    assert code == 2


def test_a_crash_after_submitting_resubmits_the_same_envelope(env: Env) -> None:
    name, bundle = env.close_and_export(first=True)
    code, out = env.cli("anchor-stellar", name, "--bundle", str(bundle), "--by", "officer-a")
    assert code == 0, out
    digest = json.loads((bundle / b.SIGNATURES).read_text())["digest"]

    class CrashAfterSubmit:
        """Horizon takes the transaction, then the worker dies before it commits."""

        def __getattr__(self, name: str) -> object:
            return getattr(env.chain, name)

        def submit(self, envelope_xdr: str) -> SubmitResult:
            env.chain.submit(envelope_xdr)
            raise RuntimeError("worker killed after submitting")

    assert env.dispatcher().dispatch_once(), "signed"
    status, signed_hash = env.row(name)
    assert status == "signed"
    with pytest.raises(RuntimeError), env.engine.begin() as conn:
        env.handler(CrashAfterSubmit())(conn, _message(env, f"{name}:signed:{signed_hash}"))
    assert env.row(name) == ("signed", signed_hash), "the crash committed nothing"
    env.sandbox.faults.clear()
    driver = SandboxDriver(inprocess_client(build_app(env.sandbox), "http://x"), "http://x")
    driver.arm_fault("horizon", "lost_response", path_contains="/transactions")
    assert env.dispatcher().dispatch_due() == 1
    assert env.row(name) == ("anchored", signed_hash)
    assert env.memo_transactions(digest) == [(str(signed_hash), True)], "one anchor transaction"


def test_a_failed_or_expired_envelope_is_signed_again_never_twice_on_chain(env: Env) -> None:
    name, bundle = env.close_and_export(first=True)
    code, out = env.cli("anchor-stellar", name, "--bundle", str(bundle), "--by", "officer-a")
    assert code == 0, out
    digest = json.loads((bundle / b.SIGNATURES).read_text())["digest"]
    env.sandbox.chain.fail_next = 1
    assert env.dispatcher().dispatch_due() == 4, "sign, fail on chain, sign again, submit"
    [(_, failed), (landed, succeeded)] = env.memo_transactions(digest)
    assert (failed, succeeded) == (False, True)
    assert env.row(name) == ("anchored", landed)

    second, next_bundle = env.close_and_export()
    code, out = env.cli("anchor-stellar", second, "--bundle", str(next_bundle), "--by", "o")
    assert code == 0, out
    assert env.dispatcher().dispatch_once(), "signed"
    _, lost = env.row(second)
    filler = build_anchor(  # takes the sequence number the signed envelope was built for
        signer=env.anchor,
        account_sequence=env.chain.account(env.anchor.public_key).sequence,
        digest=bytes(32),
        base_fee_stroops=100_000,
        network_passphrase=NETWORK,
        now_unix=env.clock.now_us() // 1_000_000,
    )
    env.chain.submit(filler.envelope_xdr)
    assert env.dispatcher().dispatch_due() == 1
    assert env.row(second) == ("signed", lost), "rejected before its time bound: retried"
    env.clock.advance(anchor_validity_s + 121)
    with env.engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET next_attempt_at = now() WHERE status = 'pending'"))
    assert env.dispatcher().dispatch_due() == 3, "expired, sign again, submit"
    status, again = env.row(second)
    second_digest = json.loads((next_bundle / b.SIGNATURES).read_text())["digest"]
    assert (status, again != lost) == ("anchored", True)
    assert env.memo_transactions(second_digest) == [(str(again), True)]


def _message(env: Env, key: str) -> object:
    from settlement.outbox import OutboxMessage

    with env.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT id, kind, key, payload, attempts FROM outbox WHERE kind = :k AND key = :p"
            ),
            {"k": STELLAR_ANCHOR_KIND, "p": key},
        ).one()
    return OutboxMessage(row[0], row[1], row[2], row[3], row[4])
