"""``msc-audit``'s transparency-log commands and flags (standard library and PyNaCl only).

``verify`` gains ``--log-key``, ``--witness`` (repeatable) and ``--min-witnesses``;
``consistency OLD NEW`` checks that one month's cumulative tree extends another's;
``witness serve`` runs a c2sp.org/tlog-witness; ``keygen`` makes a log or witness note key.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from settlement.audit.log_verify import LogPins, check_consistency
from settlement.audit.note import (
    COSIGNATURE_V1,
    ED25519,
    NoteError,
    NoteKey,
    generate_signer,
    parse_vkey,
)

COMMANDS = frozenset({"consistency", "witness", "keygen"})
EXIT_OK = 0
EXIT_USAGE = 2


def add_verify_flags(verify: argparse.ArgumentParser) -> None:
    """The log's trust flags of ``msc-audit verify``."""
    verify.add_argument(
        "--log-key", type=_vkey, metavar="VKEY", help="pin the log's note key (C2SP vkey)"
    )
    verify.add_argument(
        "--witness",
        type=_vkey,
        action="append",
        default=[],
        metavar="VKEY",
        help="a witness you trust (C2SP vkey, type 4); repeatable",
    )
    verify.add_argument(
        "--min-witnesses",
        type=int,
        default=0,
        metavar="N",
        help="how many trusted witnesses must have cosigned the checkpoint",
    )


def usage(args: argparse.Namespace) -> str | None:
    """Why the log flags of ``verify`` cannot be used together, or None."""
    if not 0 <= args.min_witnesses <= len(args.witness):
        return f"--min-witnesses {args.min_witnesses} needs as many --witness keys"
    if any(key.kind != COSIGNATURE_V1 for key in args.witness):
        return "a --witness key is a cosigner key (signature type 4)"
    if args.log_key is not None and args.log_key.kind != ED25519:
        return "--log-key is a note key (signature type 1)"
    return None


def pins(args: argparse.Namespace) -> LogPins:
    """The log pins given to ``verify``."""
    return LogPins(args.log_key, tuple(args.witness), args.min_witnesses)


def add_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    """The log's subcommands."""
    consistency = commands.add_parser(
        "consistency", help="check that NEW's cumulative log extends OLD's"
    )
    consistency.add_argument("old", type=Path, metavar="OLD_BUNDLE")
    consistency.add_argument("new", type=Path, metavar="NEW_BUNDLE")
    consistency.add_argument(
        "--proof", type=Path, metavar="FILE", help="a proof between their sizes (JSON list)"
    )
    witness = commands.add_parser("witness", help="run a tlog witness")
    serve = witness.add_subparsers(dest="witness_command", required=True).add_parser(
        "serve", help="serve POST /add-checkpoint"
    )
    serve.add_argument("--key", type=Path, required=True, help="the witness's signer key file")
    serve.add_argument(
        "--log",
        type=_vkey,
        action="append",
        required=True,
        metavar="VKEY",
        help="a log to follow (its origin is its key's name); repeatable",
    )
    serve.add_argument("--state", type=Path, required=True, help="where the witness remembers")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8087)
    keygen = commands.add_parser("keygen", help="make a note key; prints its verifier key")
    keygen.add_argument("--name", required=True, help="key name (the log's origin, or a URL)")
    keygen.add_argument("--witness", action="store_true", help="a witness (cosigner) key")
    keygen.add_argument("--out", type=Path, required=True, help="key file (never overwritten)")


def run(args: argparse.Namespace) -> int:
    """Run one of the log's subcommands."""
    if args.command == "consistency":
        for line in check_consistency(args.old, args.new, args.proof):
            _say(f"ok {line}")
        _say("consistency verified")
        return EXIT_OK
    if args.command == "keygen":
        return _keygen(args)
    from settlement.audit.witness_server import build_witness, make_server

    witness = build_witness(args.key, [key.vkey() for key in args.log], args.state)
    server = make_server(witness, args.host, args.port)
    _say(f"witness {witness.signer.verifier.vkey()} on http://{args.host}:{server.server_port}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return EXIT_OK


def _keygen(args: argparse.Namespace) -> int:
    try:
        signer = generate_signer(args.name, COSIGNATURE_V1 if args.witness else ED25519)
    except NoteError as bad:
        _say(f"msc-audit: {bad}", err=True)
        return EXIT_USAGE
    try:
        descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _say(f"msc-audit: {args.out} exists; not overwritten", err=True)
        return EXIT_USAGE
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(signer.encode())
    _say(signer.verifier.vkey())
    return EXIT_OK


def _vkey(text: str) -> NoteKey:
    try:
        return parse_vkey(text)
    except NoteError as bad:
        raise argparse.ArgumentTypeError(str(bad)) from None


def _say(text: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
