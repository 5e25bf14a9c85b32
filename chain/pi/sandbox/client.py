"""Drive the sandbox as a Pioneer would (demo and tests): create, pay, cancel, arm faults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import httpx


@dataclass(frozen=True)
class SandboxPioneer:
    """A Pioneer the sandbox created."""

    uid: str
    username: str
    access_token: str
    address: str


class SandboxDriver:
    """Thin httpx wrapper over the sandbox's /sandbox routes."""

    def __init__(self, client: httpx.Client, base_url: str) -> None:
        self._http = client
        self._base = base_url.rstrip("/")

    def _post(self, path: str, body: Mapping[str, object] | None = None) -> dict[str, object]:
        response = self._http.post(f"{self._base}{path}", json=dict(body or {}))
        response.raise_for_status()
        return cast(dict[str, object], response.json())

    def add_pioneer(self, username: str, balance: str) -> SandboxPioneer:
        """A funded Pioneer with an access token."""
        data = self._post("/sandbox/pioneers", {"username": username, "balance": balance})
        return SandboxPioneer(
            uid=str(data["uid"]),
            username=str(data["username"]),
            access_token=str(data["access_token"]),
            address=str(data["address"]),
        )

    def create_payment(
        self, pioneer: SandboxPioneer, amount: str, memo: str, metadata: Mapping[str, object]
    ) -> str:
        """`Pi.createPayment` in the Pioneer's app; returns the payment identifier."""
        body = {"amount": amount, "memo": memo, "metadata": dict(metadata)}
        return str(self._post(f"/sandbox/pioneers/{pioneer.uid}/payments", body)["identifier"])

    def pay(self, payment_id: str, **overrides: str) -> dict[str, object]:
        """The Pioneer signs and submits; overrides forge a mismatching transaction."""
        return self._post(f"/sandbox/payments/{payment_id}/pay", overrides)

    def user_cancel(self, payment_id: str) -> None:
        """The Pioneer closes the dialog."""
        self._post(f"/sandbox/payments/{payment_id}/user_cancel")

    def network_cancel(self, payment_id: str) -> None:
        """Pi Network cancels the payment."""
        self._post(f"/sandbox/payments/{payment_id}/network_cancel")

    def arm_fault(
        self, scope: str, kind: str, times: int = 1, path_contains: str = "", delay_s: float = 2.0
    ) -> None:
        """Make the next matching requests fail (status_500, html_502, timeout, lost_response)."""
        self._post(
            "/sandbox/faults",
            {
                "scope": scope,
                "kind": kind,
                "times": times,
                "path_contains": path_contains,
                "delay_s": delay_s,
            },
        )

    def fail_next_tx(self, times: int = 1) -> None:
        """The next submitted transactions fail on chain (fee charged, successful=false)."""
        self._post("/sandbox/fail_next_tx", {"times": times})

    def horizon_lag(self, seconds: int) -> None:
        """Horizon shows a transaction only `seconds` after its ledger closed."""
        self._post("/sandbox/horizon_lag", {"seconds": seconds})

    def fund(self, address: str, amount: str) -> None:
        """Faucet."""
        self._post("/sandbox/fund", {"address": address, "amount": amount})
