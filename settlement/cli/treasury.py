"""CLI: `msc treasury ...`: officers' keys, M-of-N proposals, and the governance log.

``propose`` records a proposal and writes its file; each officer runs ``sign`` on their own
machine with that file alone (no database, no server; the key never leaves the machine);
``execute`` records the file's signatures and executes the proposal once enough officers of
the set in force have signed (decision 0030). Exit codes: 0 done, 1 refused, 2 bad usage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from settlement.audit.canonical import CanonicalError, parse_strict
from settlement.audit.proposal import ProposalError, read_file, sign_file, write_file
from settlement.audit.signing import SigningError, load_officers, load_signing_key, write_new_key
from settlement.bootstrap import build_checkout, build_rates
from settlement.cli.database import run_refusing
from settlement.cli.output import EXIT_REFUSED, Output, OutputOption, emit
from settlement.config import Settings
from settlement.governance import log as store
from settlement.governance import treasury
from settlement.governance.actions import ACTIONS, DISPUTE_ACTION, Wiring
from settlement.governance.errors import refused
from settlement.unit_of_work import UnitOfWork

app = typer.Typer(help="Treasury governance: M-of-N signed proposals.", no_args_is_help=True)
EXIT_USAGE = 2
us_per_s = 1_000_000


@app.command("keygen")
def keygen(
    out: Annotated[Path, typer.Option("--out", help="Where to write the key (never overwritten).")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Make an officer's ed25519 key (hex seed, mode 0600); prints the public key."""
    try:
        public = write_new_key(out)
    except FileExistsError:
        typer.echo(f"{out} exists; not overwritten", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    emit({"public_key": public, "key_file": str(out)}, output, text=lambda r: r["public_key"])


@app.command("init")
def init(
    officers_file: Annotated[
        Path, typer.Option("--officers", help="Officers JSON: threshold and public keys.")
    ],
    output: OutputOption = Output.TEXT,
) -> None:
    """Register the first officer set (the audit's officers file); later changes are proposals."""
    try:
        officers = load_officers(officers_file)
    except SigningError as bad:
        typer.echo(str(bad), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    entry = run_refusing(
        lambda uow: treasury.register_officers(uow, officers.keys, officers.threshold)
    )
    emit(entry, output)


@app.command("propose")
def propose(
    action: Annotated[str, typer.Argument(help=f"One of: {', '.join(ACTIONS)}.")],
    out: Annotated[Path, typer.Option("--out", help="The proposal file to write (new).")],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="NAME=VALUE, repeatable: all digits make an integer (threshold=2); amounts"
            " are decimal text with a point (value=500.00).",
        ),
    ] = None,
    params_json: Annotated[
        str | None, typer.Option("--params", help="All params as one JSON object.")
    ] = None,
    expires_in_s: Annotated[
        int | None,
        typer.Option("--expires-in-s", min=60, help="Default: MSC_GOVERNANCE_PROPOSAL_TTL_S."),
    ] = None,
    nonce: Annotated[int | None, typer.Option("--nonce", min=0, help="Default: the next.")] = None,
    output: OutputOption = Output.TEXT,
) -> None:
    """Record a proposal and write its file for the officers to sign."""
    params = _params(param or [], params_json)
    if out.exists():
        typer.echo(f"{out} exists; not overwritten", err=True)
        raise typer.Exit(EXIT_REFUSED)
    settings = Settings()
    ttl_s = expires_in_s or settings.governance_proposal_ttl_s

    def work(uow: UnitOfWork) -> Any:  # noqa: ANN401 - the proposal
        expires = uow.clock.now_us() + ttl_s * us_per_s
        return treasury.propose(uow, settings.deployment_id, action, params, expires, nonce)

    proposal = run_refusing(work)
    write_file(out, proposal)
    emit(
        {"id": proposal.id(), "file": str(out), **proposal.body()},
        output,
        text=lambda r: (
            f"proposal {r['id']} (nonce {r['nonce']}) written to {r['file']}; now sign it"
        ),
    )


@app.command("sign")
def sign(
    proposal_file: Annotated[Path, typer.Argument(help="The proposal file.")],
    key_file: Annotated[Path, typer.Option("--key", help="The officer's key file (hex seed).")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Sign the proposal file with this officer's key, offline (no database, no server)."""
    try:
        proposal, added = sign_file(proposal_file, load_signing_key(key_file))
    except (SigningError, ProposalError) as bad:
        typer.echo(f"cannot sign: {bad}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    emit(
        {"id": proposal.id(), "added": added, **proposal.body()},
        output,
        text=lambda r: (
            f"{'signed' if r['added'] else 'already signed by this key'}: {r['action']}"
            f" {json.dumps(r['params'], sort_keys=True)} for {r['deployment']}, nonce"
            f" {r['nonce']}"
        ),
    )


@app.command("submit")
def submit(
    proposal_file: Annotated[Path, typer.Argument(help="The signed proposal file.")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Record the file's signatures that are not recorded yet (without executing)."""
    emit(run_refusing(lambda uow: _submit(uow, proposal_file)), output)


@app.command("execute")
def execute(
    proposal_file: Annotated[Path, typer.Argument(help="The signed proposal file.")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Record the file's signatures and execute the proposal, in one transaction."""
    settings = Settings()
    try:
        action = read_file(proposal_file)[0].action
    except ProposalError as bad:
        typer.echo(f"cannot execute: {bad}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    wiring = Wiring()
    if action == DISPUTE_ACTION:
        wiring = Wiring(checkout=build_checkout(settings, build_rates(settings, None).panel))

    def work(uow: UnitOfWork) -> dict[str, Any]:
        recorded = _submit(uow, proposal_file)
        return treasury.execute(uow, settings.deployment_id, str(recorded["id"]), wiring)

    emit(run_refusing(work), output)


@app.command("show")
def show(
    proposal_id: Annotated[
        str | None, typer.Argument(help="A proposal id; else the officers.")
    ] = None,
    output: OutputOption = Output.TEXT,
) -> None:
    """A proposal's state, or the officers in force, the next nonce and the open proposals."""

    def work(uow: UnitOfWork) -> dict[str, Any]:
        if proposal_id is not None:
            return treasury.state(uow, proposal_id)
        ids = [pid for _, pid in store.proposal_ids(uow.conn, 0, store.page_rows_max)]
        listed = [treasury.state(uow, pid) for pid in ids]
        return {
            "deployment": Settings().deployment_id,
            "officers": treasury.officers_now(uow).as_json(),
            "next_nonce": store.next_nonce(uow.conn),
            "open": [p["id"] for p in listed if p["status"] == "open"],
        }

    emit(run_refusing(work), output)


def _submit(uow: UnitOfWork, proposal_file: Path) -> dict[str, Any]:
    try:
        proposal, signatures = read_file(proposal_file)
    except ProposalError as bad:
        raise refused(bad) from None
    deployment = Settings().deployment_id
    known = {s.public_key for s in store.signatures(uow.conn, proposal.id())}
    added = 0
    for signature in signatures:
        if signature.public_key not in known:
            treasury.add_signature(uow, deployment, proposal.id(), signature)
            added += 1
    return {"id": proposal.id(), "signatures_added": added}


def _params(pairs: list[str], params_json: str | None) -> dict[str, Any]:
    """``--param NAME=VALUE`` pairs or ``--params JSON`` (not both) as the proposal's params."""
    if params_json is not None:
        if pairs:
            raise typer.BadParameter("give --param or --params, not both")
        try:
            value = parse_strict(params_json.encode("utf-8"))
        except CanonicalError as bad:
            raise typer.BadParameter(str(bad), param_hint="--params") from None
        if not isinstance(value, dict):
            raise typer.BadParameter("a JSON object", param_hint="--params")
        return value
    params: dict[str, Any] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name or name in params:
            raise typer.BadParameter(f"NAME=VALUE, each name once: {pair!r}", param_hint="--param")
        params[name] = int(value) if value.isascii() and value.isdigit() else value
    return params
