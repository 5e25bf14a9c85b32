"""``msc-audit``: the auditor's command line (standard library and PyNaCl only).

Exit status: 0 when every check holds, 1 naming the first that fails, 2 on bad usage. The trust
root is never implicit: ``--previous`` or ``--officers`` pins the officers (or
``--trust-bundle-officers`` accepts the bundle's own, said so), ``--rpc`` needs the chain,
contract and publisher pinned by flags, and ``--horizon`` the network passphrase and source
account.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from settlement.audit import bundle as b
from settlement.audit import log_cli, merkle
from settlement.audit.bundle import BundleError
from settlement.audit.log_verify import check_log
from settlement.audit.transfer_proof import prove_transfer
from settlement.audit.verify import (
    AnchorPins,
    StellarPins,
    TrustRoot,
    check_bundle,
    read_balances,
    read_manifest,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``msc-audit`` with ``argv`` (default: the process's arguments); the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return EXIT_OK if stop.code == 0 else EXIT_USAGE
    if args.command in log_cli.COMMANDS:  # transparency log (decision 0031)
        return _failing(lambda: log_cli.run(args))
    directories = [args.bundle] + ([args.previous] if getattr(args, "previous", None) else [])
    for directory in directories:
        if not directory.is_dir():
            _say(f"msc-audit: not a directory: {directory}", err=True)
            return EXIT_USAGE
    if args.command == "verify":
        usage = _verify_usage(args)
        if usage is not None:
            _say(f"msc-audit: {usage}", err=True)
            return EXIT_USAGE
    return _failing(lambda: _verify(args) if args.command == "verify" else _prove(args))


def _failing(command: Callable[[], int]) -> int:
    """Run a command; a failed check is exit 1 with the check named."""
    try:
        return command()
    except BundleError as failure:
        _say(f"FAIL {failure.check}: {failure.reason}")
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="msc-audit", description="Verify a published monthly audit bundle of msc-settlement."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="recompute and check everything in a bundle")
    verify.add_argument("bundle", type=Path, metavar="BUNDLE_DIR")
    verify.add_argument(
        "--previous", type=Path, metavar="DIR", help="the previous month's bundle (continuity)"
    )
    verify.add_argument(
        "--officers",
        type=Path,
        metavar="FILE",
        help='pin the officers in force at the start of the month: {"threshold": M,'
        ' "officers": [{"name": ..., "public_key": hex}, ...]}',
    )
    verify.add_argument(
        "--trust-bundle-officers",
        action="store_true",
        help="without --previous or --officers, accept the bundle's own officers (unpinned)",
    )
    verify.add_argument(
        "--rpc", metavar="URL", help="EVM JSON-RPC URL: read each anchor back (needs web3)"
    )
    verify.add_argument("--chain-id", type=_positive, metavar="N", help="pinned EVM chain id")
    verify.add_argument("--contract", type=_address, metavar="0x...", help="pinned AuditAnchor")
    verify.add_argument(
        "--publisher", type=_address, metavar="0x...", help="pinned account that anchors"
    )
    log_cli.add_verify_flags(verify)
    verify.add_argument(
        "--horizon", metavar="URL", help="Horizon URL: read each Stellar anchor back (stellar-sdk)"
    )
    verify.add_argument(
        "--stellar-passphrase", metavar="TEXT", help="pinned Stellar-family network passphrase"
    )
    verify.add_argument(
        "--stellar-source", type=_stellar_account, metavar="G...", help="pinned anchor account"
    )
    _workers_flag(verify)
    log_cli.add_commands(commands)
    prove = commands.add_parser("prove", help="print and check one inclusion proof")
    prove.add_argument("bundle", type=Path, metavar="BUNDLE_DIR")
    _workers_flag(prove)
    which = prove.add_mutually_exclusive_group(required=True)
    which.add_argument("--leaf", type=int, metavar="N", help="transfer leaf N (0-based)")
    which.add_argument("--balance", type=int, metavar="N", help="balance leaf N (0-based)")
    return parser


def _workers_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help="processes reading transfers.jsonl (default: one per core, 1 for a small month)",
    )


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return int(text)


def _address(text: str) -> str:
    if not b.is_address(text):
        raise argparse.ArgumentTypeError(f"not a 0x address of 20 bytes: {text!r}")
    return text


def _stellar_account(text: str) -> str:
    if not b.is_stellar_account(text):
        raise argparse.ArgumentTypeError(f"not a G... Stellar account id: {text!r}")
    return text


def _verify_usage(args: argparse.Namespace) -> str | None:
    """Why the verify flags cannot be used together, or None."""
    if args.officers is not None and not args.officers.is_file():
        return f"not a file: {args.officers}"
    if args.trust_bundle_officers and (args.officers or args.previous):
        return "--trust-bundle-officers is for when neither --previous nor --officers is given"
    pinned = [args.chain_id, args.contract, args.publisher]
    if any(pin is not None for pin in pinned) and None in pinned:
        return "pin all of --chain-id, --contract and --publisher, or none"
    if args.rpc is not None and None in pinned:
        return "--rpc needs --chain-id, --contract and --publisher (anchors.json is not signed)"
    return _stellar_usage(args) or log_cli.usage(args)


def _stellar_usage(args: argparse.Namespace) -> str | None:
    """Why the Stellar anchor flags cannot be used together, or None."""
    stellar = [args.stellar_passphrase, args.stellar_source]
    if any(pin is not None for pin in stellar) and None in stellar:
        return "pin both --stellar-passphrase and --stellar-source, or neither"
    if args.horizon is not None and None in stellar:
        return (
            "--horizon needs --stellar-passphrase and --stellar-source (anchors.json is not signed)"
        )
    return None


def _verify(args: argparse.Namespace) -> int:
    trust = TrustRoot(args.officers, args.trust_bundle_officers)
    pins = None
    if args.chain_id is not None:
        pins = AnchorPins(args.chain_id, args.contract, args.publisher)
    stellar = None
    if args.stellar_passphrase is not None:
        stellar = StellarPins(args.stellar_passphrase, args.stellar_source)
    checked = check_bundle(
        args.bundle, args.previous, args.rpc, trust, pins, args.horizon, stellar, args.workers
    )
    for line in checked.lines:
        _say(f"ok {line}")
    for line in check_log(
        args.bundle, checked.manifest, args.previous, log_cli.pins(args), checked.log_root
    ):
        _say(f"ok {line}")
    _say("bundle verified")
    return EXIT_OK


def _prove(args: argparse.Namespace) -> int:
    manifest = read_manifest(args.bundle)
    if args.leaf is not None:
        size = manifest.transfer_count
        if not 0 <= args.leaf < size:
            raise BundleError("prove", f"no transfer leaf {args.leaf} among {size}")
        try:
            found = prove_transfer(args.bundle / b.TRANSFERS, size, args.leaf, args.workers)
        except merkle.MerkleError as bad:
            raise BundleError("transfer_count", f"{bad}: the manifest says {size}") from None
        ok = merkle.verify_inclusion(
            args.leaf, size, found.leaf_hash, found.path, manifest.transfer_root
        )
        proof = {
            "leaf": found.line.decode("utf-8"),
            "leaf_hash": found.leaf_hash.hex(),
            "leaf_index": args.leaf,
            "path": [node.hex() for node in found.path],
            "root": manifest.transfer_root.hex(),
            "tree_size": size,
        }
    else:
        leaves = read_balances(args.bundle, "balances")
        if not 0 <= args.balance < len(leaves):
            raise BundleError("prove", f"no balance leaf {args.balance} among {len(leaves)}")
        nodes = [merkle.sum_leaf(line, leaf.sums()) for line, leaf in leaves]
        sum_path = merkle.sum_inclusion_proof(nodes, args.balance)
        top = merkle.sum_root(nodes)
        ok = top.hash == manifest.balance_root and merkle.verify_sum_inclusion(
            args.balance, len(nodes), nodes[args.balance], sum_path, top
        )
        proof = {
            "leaf": leaves[args.balance][0].decode("utf-8"),
            "leaf_index": args.balance,
            "path": [{"hash": node.hash.hex(), "sums": node.sums} for node in sum_path],
            "root": manifest.balance_root.hex(),
            "root_sums": top.sums,
            "tree_size": len(nodes),
        }
    _say(json.dumps(proof, indent=2, sort_keys=True))
    if not ok:
        raise BundleError("prove", "the inclusion proof does not lead to the manifest's root")
    _say("inclusion proof verified")
    return EXIT_OK


def _say(text: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
