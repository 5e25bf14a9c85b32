"""The interfaces settlement uses for Pi Network; concrete adapters are wired in bootstrap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from chain.pi.dto import PiPayment, PiUser
from chain.pi.horizon import AccountState, HorizonTx, PaymentsPage, SubmitResult


class PiPlatform(Protocol):
    """The Platform API calls settlement makes."""

    def me(self, access_token: str) -> PiUser:
        """Authenticate a Pioneer's access token."""
        ...

    def get_payment(self, payment_id: str) -> PiPayment:
        """Fetch a payment."""
        ...

    def approve(self, payment_id: str) -> PiPayment:
        """Server-side approval."""
        ...

    def complete(self, payment_id: str, txid: str) -> PiPayment:
        """Server-side completion."""
        ...

    def cancel(self, payment_id: str) -> PiPayment:
        """Cancel a payment without a transaction."""
        ...

    def incomplete_server_payments(self) -> list[PiPayment]:
        """A2U payments we have not completed."""
        ...

    def create_payment(
        self, *, amount_units: int, memo: str, metadata: Mapping[str, object], uid: str
    ) -> PiPayment:
        """Create an A2U payment."""
        ...


class PiChain(Protocol):
    """The Horizon reads and writes settlement makes."""

    def transaction(self, txid: str) -> HorizonTx:
        """A transaction and its operations."""
        ...

    def account(self, address: str) -> AccountState:
        """Sequence and native balance of an account."""
        ...

    def payments_for_account(self, address: str, cursor: str, limit: int) -> PaymentsPage:
        """An account's payments after a paging token, oldest first, with their memos."""
        ...

    def base_fee(self) -> int:
        """Current base fee in stroops."""
        ...

    def submit(self, envelope_xdr: str) -> SubmitResult:
        """Submit a signed envelope."""
        ...
