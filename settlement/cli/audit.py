"""CLI: `msc audit ...`: export a closed month's bundle, sign it as an officer, make a key,
anchor its digest on chain and write the anchors into the bundle.

Exit codes: 0 done, 1 refused (month not closed, signer not an officer, ...), 2 bad usage.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from nacl.signing import SigningKey

from escrow.errors import PeriodNotClosable
from settlement.audit import bundle as b
from settlement.audit.anchor import (
    AnchorRefused,
    request_anchor,
    signed_digest,
    update_bundle_anchors,
)
from settlement.audit.bundle import Anchor, BundleError, StellarAnchor
from settlement.audit.checkpoint import write_checkpoint
from settlement.audit.cumulative import checkpoint_note
from settlement.audit.export import Export, ExportRefused, export_period
from settlement.audit.signing import (
    SigningError,
    load_officers,
    load_signing_key,
    read_governance,
    rotation_entry,
    sign_bundle,
    sign_rotation_file,
    write_rotation,
)
from settlement.bootstrap import build_log_config
from settlement.cli import treasury
from settlement.cli.database import migrated_engine, run_work
from settlement.cli.output import (
    EXIT_REFUSED,
    ByOption,
    Output,
    OutputOption,
    emit,
    package_version,
    record_operator,
)
from settlement.config import Settings
from settlement.governance.audit import month_governance
from settlement.unit_of_work import UnitOfWork

app = typer.Typer(help="The monthly audit bundle: export, sign, anchor.", no_args_is_help=True)

EXIT_USAGE = 2


@app.command("export")
def export(
    month: Annotated[str, typer.Argument(help="The closed month, YYYY-MM (Asia/Jakarta).")],
    out: Annotated[Path, typer.Option("--out", help="Bundle directory to create (empty).")],
    officers_file: Annotated[
        Path | None,
        typer.Option("--officers", help="Officers JSON (default MSC_AUDIT_OFFICERS_FILE)."),
    ] = None,
    governance_file: Annotated[
        Path | None,
        typer.Option(
            "--governance",
            help="JSONL of signed officers.rotate entries (needed when the officers changed).",
        ),
    ] = None,
    output: OutputOption = Output.TEXT,
) -> None:
    """Write the month's bundle and record its digest; officers then sign it. Refused (nothing
    written) when the officers differ from the previous month's without a signed rotation."""
    settings = Settings()
    path = officers_file or settings.audit_officers_file
    try:
        officers = None if path is None else load_officers(path)
        governance = [] if governance_file is None else read_governance(governance_file)
    except SigningError as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    key = settings.pseudonym_key.get_secret_value().encode("utf-8")
    log = build_log_config(settings)

    def work(uow: UnitOfWork) -> Export:
        held = month_governance(uow.conn, month)
        chosen, entries = officers, governance
        if held is not None:
            if governance:
                raise ExportRefused(
                    "the governance log holds this month's entries: no --governance"
                )
            chosen, entries = held
        if chosen is None:
            raise ExportRefused(
                "no officers: msc treasury init, --officers or MSC_AUDIT_OFFICERS_FILE"
            )
        return export_period(uow, month, out, key, chosen, package_version(), entries, log)

    try:
        done: Export = run_work(work, settings)
    except (ExportRefused, PeriodNotClosable) as refused:
        typer.echo(f"cannot export: {refused}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    done.publish()
    result = {
        "period": month,
        "transfers": done.transfer_count,
        "balances": done.balance_count,
        "digest": done.digest,
        "bundle": str(out),
    }
    emit(
        result,
        output,
        text=lambda r: (
            f"{r['period']}: {r['transfers']} transfers, {r['balances']} balances,"
            f" digest {r['digest']} -> {r['bundle']}"
        ),
    )


@app.command("sign")
def sign(
    bundle: Annotated[Path, typer.Argument(help="The bundle directory.")],
    key_file: Annotated[Path, typer.Option("--key", help="The officer's key file (hex seed).")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Append this officer's ed25519 signature over the bundle's digest."""
    _sign_as_officer(lambda key: sign_bundle(bundle, key), key_file, "bundle", bundle, output)


@app.command("rotate")
def rotate(
    month: Annotated[str, typer.Argument(help="The first month of the new officers, YYYY-MM.")],
    replaces: Annotated[
        Path, typer.Option("--replaces", help="The officers file of the set in force.")
    ],
    new: Annotated[Path, typer.Option("--to", help="The officers file of the new set.")],
    out: Annotated[Path, typer.Option("--out", help="The rotation entry to write (new file).")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Write an unsigned officers.rotate entry; the officers in force then sign it with
    `msc audit sign-rotation`, and `msc audit export --governance` publishes it."""
    try:
        entry = rotation_entry(month, load_officers(replaces), load_officers(new))
        write_rotation(out, entry)
    except (SigningError, BundleError) as refused:
        typer.echo(f"cannot rotate: {refused}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except FileExistsError:
        typer.echo(f"{out} exists; not overwritten", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    emit(
        {"entry": str(out), "period": month, "replaces": entry["replaces"]},
        output,
        text=lambda r: f"rotation for {r['period']} written to {r['entry']}; now sign it",
    )


@app.command("sign-rotation")
def sign_rotation(
    entry_file: Annotated[Path, typer.Argument(help="The rotation entry file.")],
    key_file: Annotated[Path, typer.Option("--key", help="The officer's key file (hex seed).")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Add this officer's ed25519 signature to a rotation entry."""
    signing = partial(sign_rotation_file, entry_file)
    _sign_as_officer(signing, key_file, "entry", entry_file, output)


def _sign_as_officer(
    sign: Callable[[SigningKey], bool], key_file: Path, what: str, path: Path, output: Output
) -> None:
    """Sign with the officer's key; say whether a signature was added (exit 1 when refused)."""
    try:
        added = sign(load_signing_key(key_file))
    except (SigningError, BundleError) as refused:
        typer.echo(f"cannot sign: {refused}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    emit(
        {what: str(path), "added": added},
        output,
        text=lambda r: "signature added" if r["added"] else "already signed by this key",
    )


@app.command("anchor")
def anchor(
    month: Annotated[str, typer.Argument(help="The exported month, YYYY-MM (Asia/Jakarta).")],
    bundle: Annotated[Path, typer.Option("--bundle", help="The month's signed bundle.")],
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Request the month's digest be anchored on the EVM AuditAnchor (the worker publishes it);
    the bundle must verify with its officers' signatures first."""
    record_operator("audit anchor", by)
    settings = Settings()
    try:
        signed = signed_digest(bundle, month)
    except (AnchorRefused, BundleError) as refused:
        typer.echo(f"cannot anchor: {refused}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    try:
        request, created = run_work(
            lambda uow: request_anchor(uow, month, settings.evm_chain_id, signed), settings
        )
    except (AnchorRefused, BundleError) as refused:
        typer.echo(f"cannot anchor: {refused}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    result = {
        "period": month,
        "status": "anchored"
        if request.anchored
        else "requested"
        if created
        else "already requested",
        "chain_id": request.chain_id,
        "contract": request.contract,
        "digest": request.digest,
        "tx_hash": request.tx_hash,
        "block_number": request.block_number,
    }
    emit(result, output, text=_anchor_text)


def _anchor_text(r: dict[str, object]) -> str:
    if r["status"] == "anchored":
        return f"{r['period']}: anchored in {r['tx_hash']} (block {r['block_number']})"
    return (
        f"{r['period']}: anchor {r['status']} on chain {r['chain_id']} at {r['contract']},"
        f" digest {r['digest']}"
    )


@app.command("anchor-stellar")
def anchor_stellar(
    month: Annotated[str, typer.Argument(help="The exported month, YYYY-MM (Asia/Jakarta).")],
    bundle: Annotated[Path, typer.Option("--bundle", help="The month's signed bundle.")],
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Request the month's digest be anchored as a memo hash on the Pi rail's Stellar-family
    network (the worker signs and submits it); the bundle must verify with its signatures."""
    from settlement.audit.stellar_anchor import request_stellar_anchor
    from settlement.bootstrap import stellar_anchor_signer

    record_operator("audit anchor-stellar", by)
    settings = Settings()
    signer = stellar_anchor_signer(settings)
    if signer is None:
        typer.echo("no anchor account: set MSC_AUDIT_STELLAR_SECRET(_FILE)", err=True)
        raise typer.Exit(EXIT_USAGE)
    network = str(settings.pi_network)
    try:
        signed = signed_digest(bundle, month)
        request, created = run_work(
            lambda uow: request_stellar_anchor(uow, month, signed, network, signer.public_key),
            settings,
        )
    except (AnchorRefused, BundleError) as refused:
        typer.echo(f"cannot anchor: {refused}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    state = "requested" if created else request.status
    result = {
        "period": month,
        "status": state,
        "network_passphrase": request.network_passphrase,
        "source_account": request.source_account,
        "digest": request.digest,
        "tx_hash": request.tx_hash,
        "ledger": request.ledger,
    }
    emit(
        result,
        output,
        text=lambda r: (
            f"{r['period']}: Stellar anchor {r['status']} from {r['source_account']}"
            f" on {r['network_passphrase']!r}, digest {r['digest']}"
        ),
    )


@app.command("anchors")
def anchors(
    month: Annotated[str, typer.Argument(help="The anchored month, YYYY-MM.")],
    bundle: Annotated[Path, typer.Option("--bundle", help="The month's exported bundle.")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Write the month's confirmed anchors into the bundle's anchors.json (digest unchanged)."""
    settings = Settings()
    try:
        with migrated_engine(settings) as engine, engine.connect() as conn:
            entries = update_bundle_anchors(conn, month, bundle)
    except (AnchorRefused, BundleError) as refused:
        typer.echo(f"cannot write anchors: {refused}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    listed = [_anchor_listing(month, entry) for entry in entries]
    emit(listed, output, text=lambda items: "\n".join(i["line"] for i in items))


def _anchor_listing(month: str, entry: Anchor) -> dict[str, object]:
    if isinstance(entry, StellarAnchor):
        where = f"{entry.network_passphrase!r} ledger {entry.ledger}"
        fields: dict[str, object] = {"network_passphrase": entry.network_passphrase}
    else:
        where = f"chain {entry.chain_id} {entry.contract}"
        fields = {"chain_id": entry.chain_id, "contract": entry.contract}
    line = f"{month}: {where} tx {entry.tx_hash}"
    return {"period": month, **fields, "tx_hash": entry.tx_hash, "line": line}


@app.command("checkpoint")
def checkpoint(
    month: Annotated[str, typer.Argument(help="The exported month, YYYY-MM.")],
    bundle: Annotated[Path, typer.Option("--bundle", help="The month's exported bundle.")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Write the month's signed checkpoint with every witness cosignature received so far into
    the bundle's checkpoint.txt (outside the digest: signatures stay valid)."""
    settings = Settings()
    with migrated_engine(settings) as engine, engine.connect() as conn:
        note = checkpoint_note(conn, month)
    if note is None:
        typer.echo(f"cannot write the checkpoint: {month} has none (export it first)", err=True)
        raise typer.Exit(EXIT_REFUSED)
    if not (bundle / b.MANIFEST).is_file():
        typer.echo(f"cannot write the checkpoint: {bundle} is not a bundle", err=True)
        raise typer.Exit(EXIT_REFUSED)
    signatures = write_checkpoint(bundle, note)
    emit(
        {"period": month, "bundle": str(bundle), "signatures": signatures},
        output,
        text=lambda r: f"{r['period']}: checkpoint with {r['signatures']} signatures written",
    )


app.command("keygen")(treasury.keygen)  # an officer key: one officer set signs both
