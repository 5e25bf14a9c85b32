"""The sandbox's Platform API state: Pioneers, access tokens and payments (PaymentDTO dicts)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from stellar_sdk import Keypair

from chain.pi.amounts import to_decimal, to_units
from chain.pi.sandbox.chain import SandboxChain


class SandboxRefusal(Exception):
    """A Platform API error body `{error, error_message, payment?}` with its HTTP status."""

    def __init__(
        self, status: int, error: str, message: str, payment: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, object] = {"error": error, "error_message": message}
        if payment is not None:
            self.body["payment"] = payment


@dataclass
class Pioneer:
    """A sandbox user: app-specific uid, access token and wallet keypair."""

    uid: str
    username: str
    access_token: str
    keypair: Keypair


def _new_id() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(28))


def _status(p: dict[str, object]) -> dict[str, bool]:
    return p["status"]  # type: ignore[return-value]


@dataclass
class SandboxPlatform:
    """Payments of one app, backed by a SandboxChain."""

    chain: SandboxChain
    app_address: str
    pioneers: dict[str, Pioneer] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    payments: dict[str, dict[str, object]] = field(default_factory=dict)

    def add_pioneer(self, username: str, balance_units: int, seed: bytes | None = None) -> Pioneer:
        """Create a Pioneer with a funded wallet."""
        keypair = Keypair.from_raw_ed25519_seed(seed) if seed else Keypair.random()
        pioneer = Pioneer(
            uid=f"uid-{secrets.token_hex(8)}",
            username=username,
            access_token=secrets.token_urlsafe(32),
            keypair=keypair,
        )
        self.pioneers[pioneer.uid] = pioneer
        self.tokens[pioneer.access_token] = pioneer.uid
        self.chain.fund(keypair.public_key, balance_units)
        return pioneer

    def me(self, token: str) -> dict[str, object] | None:
        """UserDTO for a token, None if unknown."""
        uid = self.tokens.get(token)
        if uid is None:
            return None
        return {
            "uid": uid,
            "username": self.pioneers[uid].username,
            "credentials": {
                "scopes": ["username", "payments"],
                "valid_until": {"timestamp": 0, "iso8601": ""},
            },
        }

    def get(self, pid: str) -> dict[str, object]:
        """A payment or 404 payment_not_found."""
        payment = self.payments.get(pid)
        if payment is None:
            raise SandboxRefusal(404, "payment_not_found", "Payment not found")
        return payment

    def _new_payment(
        self, pioneer: Pioneer, amount: Decimal, memo: str, metadata: object, a2u: bool
    ) -> dict[str, object]:
        units = to_units(amount)
        ours, theirs = self.app_address, pioneer.keypair.public_key
        payment: dict[str, object] = {
            "identifier": _new_id(),
            "user_uid": pioneer.uid,
            "amount": to_decimal(units).normalize(),
            "memo": memo,
            "metadata": metadata if isinstance(metadata, dict) else {},
            "from_address": ours if a2u else theirs,
            "to_address": theirs if a2u else ours,
            "direction": "app_to_user" if a2u else "user_to_app",
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "network": self.chain.network_passphrase,
            "status": {
                "developer_approved": a2u,
                "transaction_verified": False,
                "developer_completed": False,
                "cancelled": False,
                "user_cancelled": False,
            },
            "transaction": None,
        }
        self.payments[str(payment["identifier"])] = payment
        return payment

    def create_u2a(
        self, uid: str, amount: Decimal, memo: str, metadata: object
    ) -> dict[str, object]:
        """`Pi.createPayment` in the Pioneer's app; an open payment without a tx is cancelled."""
        pioneer = self._pioneer(uid)
        for other in self._open_payments(uid, "user_to_app"):
            if other["transaction"] is not None:
                raise SandboxRefusal(400, "ongoing_payment_found", "incomplete payment", other)
            _status(other)["cancelled"] = True
        return self._new_payment(pioneer, amount, memo, metadata, a2u=False)

    def create_a2u(
        self, uid: str, amount: Decimal, memo: str, metadata: object
    ) -> dict[str, object]:
        """`POST /v2/payments`: one open A2U per user."""
        pioneer = self._pioneer(uid)
        for other in self._open_payments(uid, "app_to_user"):
            raise SandboxRefusal(400, "ongoing_payment_found", "A2U payment in progress", other)
        return self._new_payment(pioneer, amount, memo, metadata, a2u=True)

    def _open_payments(self, uid: str, direction: str) -> list[dict[str, object]]:
        """The user's payments in this direction that are neither completed nor cancelled."""
        return [
            payment
            for payment in self.payments.values()
            if payment["user_uid"] == uid
            and payment["direction"] == direction
            and self._open(payment)
        ]

    def _pioneer(self, uid: str) -> Pioneer:
        pioneer = self.pioneers.get(uid)
        if pioneer is None:
            raise SandboxRefusal(400, "user_not_found", "User not found")
        return pioneer

    @staticmethod
    def _open(p: dict[str, object]) -> bool:
        s = _status(p)
        return not (s["developer_completed"] or s["cancelled"] or s["user_cancelled"])

    def _refuse_closed(self, p: dict[str, object]) -> None:
        s = _status(p)
        if s["cancelled"] or s["user_cancelled"]:
            raise SandboxRefusal(400, "cancelled_payment", "This payment has been cancelled", p)
        if s["developer_completed"]:
            raise SandboxRefusal(400, "already_completed", "This payment is already completed", p)

    def approve(self, pid: str) -> dict[str, object]:
        """Server-side approval."""
        payment = self.get(pid)
        self._refuse_closed(payment)
        _status(payment)["developer_approved"] = True
        return payment

    def complete(self, pid: str, txid: str) -> dict[str, object]:
        """Server-side completion: the txid must be the payment's verified transaction."""
        payment = self.get(pid)
        self._refuse_closed(payment)
        linked = payment["transaction"]
        if isinstance(linked, dict) and linked["txid"] != txid:
            raise SandboxRefusal(400, "txid_mismatch", "txid does not match the payment")
        if linked is None:
            self.link(payment, txid)
        if not _status(payment)["transaction_verified"]:
            raise SandboxRefusal(400, "verification_failed", "transaction not verified", None)
        _status(payment)["developer_completed"] = True
        return payment

    def cancel(self, pid: str) -> dict[str, object]:
        """Developer cancel: only without a transaction."""
        payment = self.get(pid)
        self._refuse_closed(payment)
        if payment["transaction"] is not None:
            raise SandboxRefusal(400, "payment_tx_present", "payment has a transaction")
        _status(payment)["cancelled"] = True
        return payment

    def incomplete_server_payments(self) -> list[dict[str, object]]:
        """Open A2U payments."""
        return [
            p for p in self.payments.values() if p["direction"] == "app_to_user" and self._open(p)
        ]

    def link(self, payment: dict[str, object], txid: str) -> None:
        """Attach a chain transaction to the payment and verify it as Pi's servers would."""
        stored = self.chain.transactions.get(txid)
        if stored is None:
            raise SandboxRefusal(400, "verification_failed", "transaction not found on chain")
        rec, ops = stored.record, stored.operations
        op = ops[0] if len(ops) == 1 else {}
        verified = (
            rec["successful"] is True
            and rec.get("memo") == payment["identifier"]
            and op.get("asset_type") == "native"
            and op.get("from") == payment["from_address"]
            and op.get("to") == payment["to_address"]
            and to_units(str(op.get("amount"))) == to_units(Decimal(str(payment["amount"])))
        )
        payment["transaction"] = {
            "txid": txid,
            "verified": verified,
            "_link": f"{self.chain.base_url}/transactions/{txid}",
        }
        _status(payment)["transaction_verified"] = verified
