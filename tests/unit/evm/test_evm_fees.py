"""The fee policy: EIP-1559 fields within the caps, legacy fallback, refusal above the cap."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain.evm.fees import FeeCapExceededError, FeePolicy, Fees, choose_fees

GWEI = 10**9
POLICY = FeePolicy(max_fee_per_gas_cap_wei=100 * GWEI, priority_fee_default_wei=GWEI,
                   priority_fee_cap_wei=3 * GWEI)  # fmt: skip


@given(
    base=st.integers(0, 99 * GWEI),
    suggested=st.one_of(st.none(), st.integers(0, 50 * GWEI)),
)
def test_eip1559_fees_stay_within_the_policy(base: int, suggested: int | None) -> None:
    try:
        fees = choose_fees(POLICY, base, suggested)
    except FeeCapExceededError:
        assert base + POLICY.priority_fee_default_wei > POLICY.max_fee_per_gas_cap_wei or (
            suggested is not None
            and base + min(suggested, POLICY.priority_fee_cap_wei) > POLICY.max_fee_per_gas_cap_wei
        )
        return
    assert fees.max_priority_fee_per_gas_wei is not None
    assert fees.max_fee_per_gas_wei is not None
    tip = fees.max_priority_fee_per_gas_wei
    assert POLICY.priority_fee_default_wei <= tip <= POLICY.priority_fee_cap_wei
    assert base + tip <= fees.max_fee_per_gas_wei <= POLICY.max_fee_per_gas_cap_wei
    assert fees.tx_fields()["type"] == 2


def test_base_fee_above_cap_is_refused_not_overpaid() -> None:
    with pytest.raises(FeeCapExceededError):
        choose_fees(POLICY, 100 * GWEI, None)


def test_legacy_chain_uses_gas_price_within_cap() -> None:
    assert choose_fees(POLICY, None, None, 5 * GWEI) == Fees(gas_price_wei=5 * GWEI)
    assert Fees(gas_price_wei=5 * GWEI).tx_fields() == {"gasPrice": 5 * GWEI}
    with pytest.raises(FeeCapExceededError):
        choose_fees(POLICY, None, None, 101 * GWEI)
    with pytest.raises(ValueError, match="gas price"):
        choose_fees(POLICY, None, None, None)


def test_policy_validates_its_limits() -> None:
    with pytest.raises(ValueError, match="positive"):
        FeePolicy(0, 0, 1)
    with pytest.raises(ValueError, match="default priority"):
        FeePolicy(10, 5, 4)
