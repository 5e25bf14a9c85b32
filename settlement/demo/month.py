"""Chapter four: the month ends; the treasury closes it, exports its audit bundle, two of three
officers sign it, its digest is anchored on anvil, and an auditor verifies the bundle with
``msc-audit verify`` pinned to the officers, the chain, the contract and the publisher."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
from pathlib import Path

from escrow.periods import period, period_of
from settlement.audit.anchor import request_anchor, signed_digest, update_bundle_anchors
from settlement.audit.cli import EXIT_OK
from settlement.audit.cli import main as msc_audit
from settlement.audit.export import export_period
from settlement.audit.signing import load_officers, load_signing_key, sign_bundle, write_new_key
from settlement.cli.output import package_version
from settlement.demo.story import Step
from settlement.demo.world import DemoError, World
from settlement.evm.deployment import load_deployment
from settlement.unit_of_work import UnitOfWork

CLOSER = "demo"
"""Who closes the month (``msc period close --by demo``)."""
OFFICERS = ("bendahara", "sekretaris", "auditor")
OFFICERS_THRESHOLD = 2
CLOSE_AFTER_MONTH_S = 3600
"""How long after midnight (WIB) of the 1st the treasury closes the month."""


def close_month(world: World) -> str:
    """`msc period close` once the month has ended (the clock moves to the 1st, 01:00 WIB)."""
    month = period_of(world.clock.now_us())
    world.clock.advance_to(period(month).ends_at_us + 1 + CLOSE_AFTER_MONTH_S * 1_000_000)
    closed = world.treasury(lambda uow: uow.ledger.close_period(month, CLOSER))
    world.scene.month = month
    return f"{world.now_text()}: {month} closed by {CLOSER}, {closed.transfer_count} transfers"


def officers(world: World) -> str:
    """Three officers make their keys (`msc audit keygen`); two of them must sign."""
    folder = world.folder / "officers"
    folder.mkdir()
    entries = []
    for name in OFFICERS:
        key_file = folder / f"{name}.key"
        entries.append({"name": name, "public_key": write_new_key(key_file)})
        world.scene.officer_keys.append(key_file)
    officers_file = folder / "officers.json"
    officers_file.write_text(
        json.dumps({"threshold": OFFICERS_THRESHOLD, "officers": entries}, indent=2) + "\n"
    )
    world.scene.officers_file = officers_file
    return f"{len(OFFICERS)} officers, {OFFICERS_THRESHOLD} signatures needed: {officers_file}"


def export(world: World) -> str:
    """`msc audit export`: the month's bundle, its digest recorded."""
    month, officers_file = world.scene.month, world.scene.officers_file
    if officers_file is None:
        raise DemoError("no officers file")
    out = world.folder / "bundles" / month
    out.parent.mkdir(parents=True, exist_ok=True)
    key = world.container.settings.pseudonym_key.get_secret_value().encode("utf-8")
    signers = load_officers(officers_file)

    done = world.treasury(
        lambda uow: export_period(uow, month, out, key, signers, package_version())
    )
    done.publish()
    world.scene.bundle = out
    return (
        f"{month}: {done.transfer_count} transfers, {done.balance_count} balances,"
        f" digest {done.digest}"
    )


def sign(world: World) -> str:
    """`msc audit sign` by the first two officers."""
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


def verify(world: World) -> str:
    """`msc-audit verify` as an auditor runs it, every trust root pinned by a flag."""
    bundle, officers_file = _bundle(world), world.scene.officers_file
    chain_id = world.container.settings.evm_chain_id
    with world.container.engine.connect() as conn:
        deployment = load_deployment(conn, chain_id)
    argv = [
        "verify", str(bundle), "--officers", str(officers_file),
        "--rpc", world.container.settings.evm_rpc_url, "--chain-id", str(chain_id),
        "--contract", deployment.anchor, "--publisher", world.container.evm().address,
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


def _bundle(world: World) -> Path:
    if world.scene.bundle is None:
        raise DemoError("no bundle exported")
    return world.scene.bundle


STEPS: list[Step[World]] = [
    Step("close", close_month),
    Step("officers", officers),
    Step("export", export),
    Step("sign", sign),
    Step("anchor", anchor),
    Step("verify", verify),
]
