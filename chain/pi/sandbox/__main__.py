"""Run the Pi sandbox: `python -m chain.pi.sandbox --port 8765 --api-key K --app-address G...`."""

from __future__ import annotations

import argparse

import uvicorn

from chain.pi.amounts import to_units
from chain.pi.ids import check_address
from chain.pi.sandbox.app import build_app, make_sandbox


def main(argv: list[str] | None = None) -> None:
    """Serve the sandbox until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m chain.pi.sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--app-address", required=True, type=check_address)
    parser.add_argument("--app-balance", default="0", help="initial app wallet balance in Pi")
    args = parser.parse_args(argv)
    sandbox = make_sandbox(
        api_key=args.api_key,
        app_address=args.app_address,
        app_balance_units=to_units(args.app_balance, allow_zero=True),
        base_url=f"http://{args.host}:{args.port}",
    )
    uvicorn.run(build_app(sandbox), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
