"""Chapter six: the closed month's audit bundle. The treasury exports it into the publish
directory with the month's governance log and its checkpoint of the cumulative log; the worker
submits the checkpoint to the local witness, whose cosignature goes into checkpoint.txt; two
officers sign; the digest is anchored on anvil and on the Pi sandbox's Horizon; an auditor runs
`msc-audit verify` with every trust root pinned; the public API and the transparency page show
the month."""

from __future__ import annotations

import contextlib
import io
import shlex
from pathlib import Path

from sqlalchemy import text

from settlement.audit.anchor import request_anchor, signed_digest, update_bundle_anchors
from settlement.audit.bundle import StellarAnchor
from settlement.audit.checkpoint import write_checkpoint
from settlement.audit.cli import EXIT_OK
from settlement.audit.cli import main as msc_audit
from settlement.audit.cumulative import checkpoint_note
from settlement.audit.export import Export, export_period
from settlement.audit.signing import load_signing_key, sign_bundle
from settlement.audit.stellar_anchor import request_stellar_anchor
from settlement.bootstrap import build_log_config, stellar_anchor_signer
from settlement.cli.output import package_version
from settlement.demo.governed import OFFICERS, OFFICERS_THRESHOLD
from settlement.demo.story import Step
from settlement.demo.world import DemoError, World
from settlement.evm.deployment import load_deployment
from settlement.governance.audit import month_governance
from settlement.unit_of_work import UnitOfWork

MIN_WITNESSES = 1
"""Cosignatures the auditor requires: the one local witness's."""


def export(world: World) -> str:
    """`msc audit export` into the publish directory (MSC_AUDIT_PUBLISH_DIR): officers and
    governance entries from the governance log, the month appended to the cumulative log."""
    month = world.scene.month
    settings = world.container.settings
    out = settings.audit_publish_path() / month
    out.parent.mkdir(parents=True, exist_ok=True)
    key = settings.pseudonym_key.get_secret_value().encode("utf-8")
    log = build_log_config(settings)

    def work(uow: UnitOfWork) -> tuple[Export, int]:
        held = month_governance(uow.conn, month)
        if held is None:
            raise DemoError(f"no officers were registered by the end of {month}")
        chosen, entries = held
        done = export_period(uow, month, out, key, chosen, package_version(), entries, log)
        return done, len(entries)

    done, governed = world.treasury(work)
    done.publish()
    world.scene.bundle = out
    return (
        f"{month}: {done.transfer_count} transfers, {done.balance_count} balances,"
        f" {governed} governance entries, digest {done.digest} -> {out}"
    )


def cosign(world: World) -> str:
    """The worker submits the month's checkpoint to the witness (`tlog.witness`); `msc audit
    checkpoint` writes it with the cosignature into checkpoint.txt."""
    bundle, month = _bundle(world), world.scene.month
    world.worker()
    with world.container.engine.connect() as conn:
        note = checkpoint_note(conn, month)
        cosigned = conn.execute(
            text("SELECT count(*) FROM tlog_cosignatures WHERE period = :p"), {"p": month}
        ).scalar_one()
    if note is None or cosigned < MIN_WITNESSES:
        raise DemoError(f"{month}'s checkpoint has {cosigned} cosignatures")
    signatures = write_checkpoint(bundle, note)
    witness = world.container.settings.tlog_witnesses[0].vkey.split("+", 1)[0]
    return (
        f"checkpoint cosigned by {witness}: {signatures} signatures in {bundle / 'checkpoint.txt'}"
    )


def sign(world: World) -> str:
    """`msc audit sign` by the first two officers (the officers of the governance log)."""
    bundle = _bundle(world)
    signers = world.scene.officer_keys[:OFFICERS_THRESHOLD]
    for key_file in signers:
        sign_bundle(bundle, load_signing_key(key_file))
    return f"signed by {', '.join(OFFICERS[: len(signers)])}"


def anchor(world: World) -> str:
    """`msc audit anchor`: the signed digest goes on anvil's AuditAnchor through the worker;
    `msc audit anchors` writes the anchor into the bundle."""
    bundle, month = _bundle(world), world.scene.month
    signed = signed_digest(bundle, month)
    chain_id = world.container.settings.evm_chain_id

    def requested(uow: UnitOfWork) -> None:
        request_anchor(uow, month, chain_id, signed)

    world.treasury(requested)
    world.worker()
    with world.container.engine.connect() as conn:
        anchors = update_bundle_anchors(conn, month, bundle)
    if not anchors:
        raise DemoError(f"{month}'s digest was not anchored")
    return f"digest anchored on chain {chain_id} in {anchors[0].tx_hash}"


def anchor_stellar(world: World) -> str:
    """`msc audit anchor-stellar`: the digest as the memo hash of a transaction on the Pi
    sandbox's Horizon, through the worker; `msc audit anchors` adds it to anchors.json."""
    bundle, month = _bundle(world), world.scene.month
    settings = world.container.settings
    signer = stellar_anchor_signer(settings)
    if signer is None:
        raise DemoError("no Stellar anchor account")
    network = str(settings.pi_network)
    signed = signed_digest(bundle, month)
    world.treasury(
        lambda uow: request_stellar_anchor(uow, month, signed, network, signer.public_key)
    )
    world.worker()
    with world.container.engine.connect() as conn:
        anchors = update_bundle_anchors(conn, month, bundle)
    stellar = [entry for entry in anchors if isinstance(entry, StellarAnchor)]
    if not stellar:
        raise DemoError(f"{month}'s digest was not anchored on {network!r}")
    return f"digest anchored on {network!r} in ledger {stellar[0].ledger}, tx {stellar[0].tx_hash}"


def verify(world: World) -> str:
    """`msc-audit verify` as an auditor runs it, every trust root pinned by a flag: officers,
    EVM chain, contract and publisher, the log's key and the witness, the Stellar network and
    account (read back from the sandbox's Horizon over HTTP)."""
    bundle, officers_file = _bundle(world), world.scene.officers_file
    settings = world.container.settings
    chain_id = settings.evm_chain_id
    with world.container.engine.connect() as conn:
        deployment = load_deployment(conn, chain_id)
    signer = stellar_anchor_signer(settings)
    if signer is None:
        raise DemoError("no Stellar anchor account")
    argv = [
        "verify", str(bundle), "--officers", str(officers_file),
        "--rpc", settings.evm_rpc_url, "--chain-id", str(chain_id),
        "--contract", deployment.anchor, "--publisher", world.container.evm().address,
        "--log-key", build_log_config(settings).signer.verifier.vkey(),
        *(arg for w in settings.tlog_witnesses for arg in ("--witness", w.vkey)),
        "--min-witnesses", str(MIN_WITNESSES),
        "--horizon", f"{world.base_url}/pi-sandbox", "--stellar-passphrase",
        str(settings.pi_network), "--stellar-source", signer.public_key,
    ]  # fmt: skip
    world.scene.audit_command = shlex.join(["msc-audit", *argv])
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        status = msc_audit(argv)
    lines = said.getvalue().splitlines()
    if status != EXIT_OK:
        raise DemoError(f"msc-audit verify exited {status}: {lines[-1] if lines else ''}")
    checks = sum(1 for line in lines if line.startswith("ok "))
    return f"msc-audit verify {bundle}: {checks} checks ok"


def published(world: World) -> str:
    """The month is public: GET /v1/audit/periods lists it, /v1/audit/checkpoint serves the
    cosigned checkpoint, /transparency shows it (no credential)."""
    month = world.scene.month
    listed = world.call("GET", "/v1/audit/periods")
    found = [p for p in listed["periods"] if p["period"] == month]
    if not found:
        raise DemoError(f"GET /v1/audit/periods does not list {month}")
    served = world.call("GET", "/v1/audit/checkpoint")
    witness = world.container.settings.tlog_witnesses[0].vkey.split("+", 1)[0]
    if served["period"] != month or f"\u2014 {witness} " not in served["note"]:
        raise DemoError(f"GET /v1/audit/checkpoint does not serve {month}'s cosigned checkpoint")
    page = world.call("GET", "/transparency")
    if month not in page:
        raise DemoError(f"/transparency does not show {month}")
    for path in ("/v1/audit/periods", "/v1/audit/checkpoint", "/transparency",
                 "/transparency?lang=en"):  # fmt: skip
        world.look_at(path, "public")
    anchors = len(found[0]["anchors"])
    return f"{month} published: {anchors} anchors, on {world.base_url}/transparency"


def _bundle(world: World) -> Path:
    if world.scene.bundle is None:
        raise DemoError("no bundle exported")
    return world.scene.bundle


STEPS: list[Step[World]] = [
    Step("export", export),
    Step("cosign", cosign),
    Step("sign", sign),
    Step("anchor", anchor),
    Step("anchor-stellar", anchor_stellar),
    Step("verify", verify),
    Step("published", published),
]
