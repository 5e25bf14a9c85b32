"""The sandbox's ledger: accounts, balances and Stellar transactions signed with real ed25519 keys.

It applies the rules Horizon/stellar-core would for what the Pi rail does: envelope parses under
the network passphrase, the source signed it, the sequence is the next one, time bounds hold, the
fee is paid; native payments move balances; a failing operation leaves a failed transaction in the
ledger with its fee charged; ``bump_sequence`` (the audit anchor's one operation, carrying a memo
hash) moves the sequence forward or, bumped to at most the current one, does nothing. Horizon
may show a transaction only `ingestion_lag_s` after its ledger closed; until then a
resubmission meets the consumed sequence number, as it would in core.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stellar_sdk import BumpSequence, Keypair, Payment, TransactionEnvelope
from stellar_sdk.exceptions import BadSignatureError, SdkError

from chain.pi.amounts import to_str, to_units
from chain.pi.sandbox.records import operation_records, transaction_record
from escrow.calendar import US_PER_S
from escrow.clock import Clock, SystemClock

sandbox_base_fee_stroops = 100_000


@dataclass
class AccountRow:
    """One account: sequence and native balance in 1e-7 Pi."""

    sequence: int
    balance_units: int


@dataclass(frozen=True)
class StoredTx:
    """A transaction in the sandbox ledger, as Horizon records."""

    record: dict[str, object]
    operations: list[dict[str, object]]
    closed_at_unix: int = 0


@dataclass
class SubmitOutcome:
    """HTTP status and Horizon-shaped body for a submission."""

    status: int
    body: dict[str, object]


def _problem(
    status: int, kind: str, title: str, codes: dict[str, object] | None = None, xdr: str = ""
) -> SubmitOutcome:
    body: dict[str, object] = {
        "type": f"https://stellar.org/horizon-errors/{kind}",
        "title": title,
        "status": status,
        "detail": title,
    }
    if codes is not None:
        body["extras"] = {"envelope_xdr": xdr, "result_codes": codes}
    return SubmitOutcome(status, body)


@dataclass
class SandboxChain:
    """Accounts and transactions of one network."""

    network_passphrase: str
    base_url: str
    clock: Clock = field(default_factory=SystemClock)
    accounts: dict[str, AccountRow] = field(default_factory=dict)
    transactions: dict[str, StoredTx] = field(default_factory=dict)
    ledger: int = 1000
    fail_next: int = 0
    ingestion_lag_s: int = 0

    def ingested(self, tx_hash: str) -> StoredTx | None:
        """The transaction as Horizon shows it: None until `ingestion_lag_s` after its ledger."""
        stored = self.transactions.get(tx_hash)
        if (
            stored is None
            or self.clock.now_us() < (stored.closed_at_unix + self.ingestion_lag_s) * US_PER_S
        ):
            return None
        return stored

    def fund(self, address: str, units: int) -> None:
        """Create the account if needed and add `units` to it (the sandbox's faucet)."""
        row = self.accounts.setdefault(
            address, AccountRow(sequence=(self.ledger << 32), balance_units=0)
        )
        row.balance_units += units

    def submit(self, xdr: str) -> SubmitOutcome:
        """Validate and apply a signed envelope; resubmitting a known envelope returns it."""
        try:
            env = TransactionEnvelope.from_xdr(xdr, self.network_passphrase)
        except (SdkError, ValueError, TypeError, EOFError):  # truncated XDR: EOFError
            return _problem(400, "transaction_malformed", "Transaction Malformed")
        known = self.ingested(env.hash_hex())
        if known is not None:
            return SubmitOutcome(200 if known.record["successful"] else 400, known.record)
        refused = self._precheck(env, xdr)
        if refused is not None:
            return refused
        return self._apply(env, xdr)

    def _precheck(self, env: TransactionEnvelope, xdr: str) -> SubmitOutcome | None:
        code = self._precheck_code(env)
        if code is None:
            return None
        return _problem(400, "transaction_failed", "Transaction Failed", {"transaction": code}, xdr)

    def _precheck_code(self, env: TransactionEnvelope) -> str | None:
        tx = env.transaction
        source = tx.source.account_id
        row = self.accounts.get(source)
        if row is None:
            return "tx_no_source_account"
        try:
            Keypair.from_public_key(source).verify(env.hash(), env.signatures[0].signature)
        except (BadSignatureError, IndexError):
            return "tx_bad_auth"
        bounds = tx.preconditions.time_bounds if tx.preconditions else None
        too_late = (
            bounds is not None
            and bool(bounds.max_time)
            and self.clock.now_us() > bounds.max_time * US_PER_S
        )
        checks = [
            (tx.sequence != row.sequence + 1, "tx_bad_seq"),
            (too_late, "tx_too_late"),
            (tx.fee < sandbox_base_fee_stroops * len(tx.operations), "tx_insufficient_fee"),
            (row.balance_units < tx.fee, "tx_insufficient_balance"),
        ]
        return next((code for failed, code in checks if failed), None)

    def _apply(self, env: TransactionEnvelope, xdr: str) -> SubmitOutcome:
        tx = env.transaction
        row = self.accounts[tx.source.account_id]
        fee = sandbox_base_fee_stroops * len(tx.operations)
        row.sequence = tx.sequence
        row.balance_units -= fee
        op_codes = self._apply_ops(env)
        successful = all(c == "op_success" for c in op_codes)
        self.ledger += 1
        now = self.clock.now_us() // US_PER_S
        record = transaction_record(
            env,
            base_url=self.base_url,
            successful=successful,
            ledger=self.ledger,
            closed_at_unix=now,
            fee_charged=fee,
        )
        ops = operation_records(env, successful=successful, ledger=self.ledger, closed_at_unix=now)
        self.transactions[env.hash_hex()] = StoredTx(record, ops, now)
        if successful:
            return SubmitOutcome(200, record)
        codes: dict[str, object] = {"transaction": "tx_failed", "operations": op_codes}
        return _problem(400, "transaction_failed", "Transaction Failed", codes, xdr)

    def _apply_ops(self, env: TransactionEnvelope) -> list[str]:
        """All-or-nothing: compute every op's result first, then move balances if all succeed."""
        tx = env.transaction
        if self.fail_next > 0:
            self.fail_next -= 1
            return ["op_underfunded" for _ in tx.operations]
        moves: list[tuple[str, str, int]] = []
        codes: list[str] = []
        spent: dict[str, int] = {}
        for op in tx.operations:
            source = op.source.account_id if op.source else tx.source.account_id
            code, move = self._check_payment(op, source, spent)
            codes.append(code)
            if move is not None:
                moves.append(move)
        if all(c == "op_success" for c in codes):
            for src, dst, units in moves:
                self.accounts[src].balance_units -= units
                self.accounts[dst].balance_units += units
            for op in tx.operations:
                if isinstance(op, BumpSequence):
                    row = self.accounts[op.source.account_id if op.source else tx.source.account_id]
                    row.sequence = max(row.sequence, op.bump_to)
        return codes

    def _check_payment(
        self, op: object, source: str, spent: dict[str, int]
    ) -> tuple[str, tuple[str, str, int] | None]:
        if isinstance(op, BumpSequence):
            return ("op_success" if source in self.accounts else "op_no_account"), None
        if not isinstance(op, Payment):
            return "op_not_supported", None
        if not op.asset.is_native():
            return "op_no_trust", None
        dest = op.destination.account_id
        if dest not in self.accounts:
            return "op_no_destination", None
        units = to_units(op.amount)
        row = self.accounts.get(source)
        if row is None or row.balance_units - spent.get(source, 0) < units:
            return "op_underfunded", None
        spent[source] = spent.get(source, 0) + units
        return "op_success", (source, dest, units)

    def payments_of(self, address: str, after: int, limit: int) -> list[dict[str, object]]:
        """Payment operations of successful transactions from or to ``address`` whose paging
        token is above ``after``, oldest first, each joined with its transaction record."""
        found: list[dict[str, object]] = []
        for stored in self.transactions.values():
            if stored.record["successful"] is not True:
                continue
            for op in stored.operations:
                token = int(str(op["paging_token"]))
                if op["type"] == "payment" and address in (op["from"], op["to"]) and token > after:
                    found.append({**op, "transaction": stored.record})
                    if len(found) == limit:
                        return found
        return found

    def account_json(self, address: str) -> dict[str, object] | None:
        """Horizon's account record, or None if unknown."""
        row = self.accounts.get(address)
        if row is None:
            return None
        return {
            "id": address,
            "account_id": address,
            "sequence": str(row.sequence),
            "balances": [{"balance": to_str(row.balance_units), "asset_type": "native"}],
        }
