"""A worker process for the kill test: runs the mint handler of one withdrawal and is killed
while it waits for the receipt (anvil's automine is off, so the receipt never comes)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import text

from chain.evm.anvil import ANVIL_CHAIN_ID
from chain.evm.client import Web3Client
from chain.evm.fees import FeePolicy
from chain.evm.signing import load_account
from settlement.db import make_engine
from settlement.evm.bridge import MINT_KIND, MintHandler
from settlement.evm.sender import SendLimits, TxSender
from settlement.outbox import OutboxMessage

receipt_wait_s = 600.0


def main() -> None:
    engine = make_engine(os.environ["EVM_TEST_DATABASE_URL"])
    fees = FeePolicy(100 * 10**9, 10**9, 2 * 10**9)
    node = Web3Client(os.environ["EVM_TEST_RPC_URL"], ANVIL_CHAIN_ID, fees)
    account = load_account(None, Path(os.environ["EVM_TEST_KEY_FILE"]))
    sender = TxSender(engine, node, account, SendLimits(1, receipt_wait_s))
    tid = uuid.UUID(os.environ["EVM_TEST_TRANSFER_ID"])
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "SELECT id, kind, key, payload, attempts FROM outbox WHERE kind = :k AND key = :t"
            ),
            {"k": MINT_KIND, "t": str(tid)},
        ).one()
        MintHandler(sender)(conn, OutboxMessage(row[0], row[1], row[2], row[3], row[4]))


if __name__ == "__main__":
    main()
