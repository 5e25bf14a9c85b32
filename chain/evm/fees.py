"""The fee policy: EIP-1559 when the chain reports a base fee, legacy gas price otherwise."""

from __future__ import annotations

from dataclasses import dataclass

base_fee_multiplier = 2
"""Headroom for base-fee growth: max fee = 2 x base fee + tip survives six full blocks."""


class FeeCapExceededError(ValueError):
    """The fee the network asks for is above the configured ceiling."""


@dataclass(frozen=True, slots=True)
class FeePolicy:
    """Limits on what the service pays per gas unit, in wei."""

    max_fee_per_gas_cap_wei: int
    priority_fee_default_wei: int
    priority_fee_cap_wei: int

    def __post_init__(self) -> None:
        if min(self.max_fee_per_gas_cap_wei, self.priority_fee_cap_wei) <= 0:
            raise ValueError("fee caps must be positive")
        if not 0 <= self.priority_fee_default_wei <= self.priority_fee_cap_wei:
            raise ValueError("default priority fee must be within [0, cap]")


@dataclass(frozen=True, slots=True)
class Fees:
    """The fee fields of one transaction: EIP-1559 pair or legacy gas price."""

    max_fee_per_gas_wei: int | None = None
    max_priority_fee_per_gas_wei: int | None = None
    gas_price_wei: int | None = None

    def tx_fields(self) -> dict[str, int]:
        """The fields to put in an eth-account transaction dict."""
        if self.gas_price_wei is not None:
            return {"gasPrice": self.gas_price_wei}
        if self.max_fee_per_gas_wei is None or self.max_priority_fee_per_gas_wei is None:
            raise ValueError("EIP-1559 fees need both max fee and priority fee")
        return {
            "type": 2,
            "maxFeePerGas": self.max_fee_per_gas_wei,
            "maxPriorityFeePerGas": self.max_priority_fee_per_gas_wei,
        }


def choose_fees(
    policy: FeePolicy,
    base_fee_wei: int | None,
    suggested_priority_wei: int | None,
    legacy_gas_price_wei: int | None = None,
) -> Fees:
    """Fees for a new transaction; refuses (FeeCapExceededError) rather than overpay silently."""
    if base_fee_wei is None:
        price = legacy_gas_price_wei if legacy_gas_price_wei is not None else 0
        if price <= 0:
            raise ValueError("legacy chain without a gas price")
        if price > policy.max_fee_per_gas_cap_wei:
            cap = policy.max_fee_per_gas_cap_wei
            raise FeeCapExceededError(f"gas price {price} wei > cap {cap}")
        return Fees(gas_price_wei=price)
    tip = policy.priority_fee_default_wei
    if suggested_priority_wei is not None:
        tip = min(max(tip, suggested_priority_wei), policy.priority_fee_cap_wei)
    if base_fee_wei + tip > policy.max_fee_per_gas_cap_wei:
        raise FeeCapExceededError(
            f"base fee {base_fee_wei} + tip {tip} wei > cap {policy.max_fee_per_gas_cap_wei}"
        )
    max_fee = min(base_fee_wei * base_fee_multiplier + tip, policy.max_fee_per_gas_cap_wei)
    return Fees(max_fee_per_gas_wei=max_fee, max_priority_fee_per_gas_wei=tip)
