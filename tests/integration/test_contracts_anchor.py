"""AuditAnchor on anvil: publisher role, chain continuity, no overwrite, events, views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.contract import Contract

from chain.evm.abi import ANCHOR, role_id
from tests.evm_support import Chain, DevAccounts

pytest_plugins = ("tests.evm_fixtures",)
pytestmark = pytest.mark.integration

ZERO = bytes(32)
JAN, FEB, MAR = 202501, 202502, 202503
REFUSALS = {"PeriodAlreadyAnchored", "PeriodNotAfterLatest", "PrevDigestMismatch"}


def digest(n: int) -> bytes:
    return n.to_bytes(32, "big")


@dataclass
class Env:
    chain: Chain
    anchor: Contract
    acc: DevAccounts

    def publish(
        self, period: int, new: bytes, prev: bytes, signer: LocalAccount | None = None
    ) -> Any:
        call = self.anchor.functions.publish(period, new, prev)
        return self.chain.send(signer or self.acc.publisher, call)

    def revert(
        self, period: int, new: bytes, prev: bytes, signer: LocalAccount | None = None
    ) -> Any:
        call = self.anchor.functions.publish(period, new, prev)
        return self.chain.revert_name(signer or self.acc.publisher, call)

    def view(self, function: str, *args: Any) -> Any:
        return getattr(self.anchor.functions, function)(*args).call()


@pytest.fixture(scope="session")
def deployed_anchor(evm_chain: Chain, dev_accounts: DevAccounts) -> Contract:
    anchor = evm_chain.deploy(ANCHOR, dev_accounts.admin, dev_accounts.admin.address)
    call = anchor.functions.grantRole(role_id("PUBLISHER_ROLE"), dev_accounts.publisher.address)
    evm_chain.send(dev_accounts.admin, call)
    return anchor


@pytest.fixture
def env(deployed_anchor: Contract, evm_snapshot: Chain, dev_accounts: DevAccounts) -> Env:
    return Env(evm_snapshot, deployed_anchor, dev_accounts)


def test_only_the_publisher_may_publish(env: Env) -> None:
    assert env.revert(JAN, digest(1), ZERO, env.acc.mallory) == "AccessControlUnauthorizedAccount"
    assert env.revert(JAN, digest(1), ZERO, env.acc.admin) == "AccessControlUnauthorizedAccount"
    env.publish(JAN, digest(1), ZERO)
    assert env.view("digestOf", JAN) == digest(1)


def test_publisher_role_is_granted_by_admin_only(env: Env) -> None:
    grant = env.anchor.functions.grantRole(role_id("PUBLISHER_ROLE"), env.acc.mallory.address)
    assert env.chain.revert_name(env.acc.publisher, grant) == "AccessControlUnauthorizedAccount"
    env.chain.send(env.acc.admin, grant)
    env.publish(JAN, digest(1), ZERO, env.acc.mallory)


def test_anchored_event_and_views(env: Env) -> None:
    receipt = env.publish(JAN, digest(1), ZERO)
    [event] = env.chain.events(env.anchor, receipt, "Anchored")
    assert event == {
        "period": JAN,
        "digest": digest(1),
        "prevDigest": ZERO,
        "publisher": env.acc.publisher.address,
    }
    record = env.view("anchorOf", JAN)
    assert record[:3] == (digest(1), ZERO, env.acc.publisher.address)
    assert record[3] == receipt["blockNumber"]
    assert env.view("latestPeriod") == JAN
    assert env.view("latestDigest") == digest(1)
    assert env.view("anchorCount") == 1
    assert env.view("periodAt", 0) == JAN


def test_chain_continuity_requires_the_previous_digest(env: Env) -> None:
    assert env.revert(JAN, digest(1), digest(9)) == "PrevDigestMismatch"
    env.publish(JAN, digest(1), ZERO)
    assert env.revert(FEB, digest(2), ZERO) == "PrevDigestMismatch"
    assert env.revert(FEB, digest(2), digest(2)) == "PrevDigestMismatch"
    env.publish(FEB, digest(2), digest(1))
    env.publish(MAR, digest(3), digest(2))
    assert [env.view("periodAt", i) for i in range(3)] == [JAN, FEB, MAR]


def test_a_period_is_never_overwritten_nor_backfilled(env: Env) -> None:
    env.publish(JAN, digest(1), ZERO)
    env.publish(MAR, digest(3), digest(1))
    assert env.revert(JAN, digest(7), digest(3)) == "PeriodAlreadyAnchored"
    assert env.revert(MAR, digest(7), digest(3)) == "PeriodAlreadyAnchored"
    assert env.revert(FEB, digest(2), digest(3)) == "PeriodNotAfterLatest"
    assert env.view("digestOf", JAN) == digest(1)
    assert env.view("digestOf", FEB) == ZERO


def test_zero_period_and_zero_digest_are_refused(env: Env) -> None:
    assert env.revert(0, digest(1), ZERO) == "ZeroPeriod"
    assert env.revert(JAN, ZERO, ZERO) == "ZeroDigest"


def test_reading_an_unanchored_period_reverts(env: Env) -> None:
    call = env.anchor.functions.anchorOf(JAN)
    assert env.chain.revert_name(env.acc.bob, call) == "PeriodNotAnchored"
    assert env.view("latestDigest") == ZERO
    assert env.view("latestPeriod") == 0


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    attempts=st.lists(
        st.tuples(st.integers(1, 6), st.integers(1, 4), st.booleans()), min_size=1, max_size=6
    )
)
def test_anchor_chain_matches_a_model(env: Env, attempts: list[tuple[int, int, bool]]) -> None:
    """Whatever the publisher tries, accepted entries form one forward-only linked chain."""
    snapshot = env.chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        model: list[tuple[int, bytes]] = []
        for period, value, link_right in attempts:
            latest_period, latest_digest = model[-1] if model else (0, ZERO)
            prev = latest_digest if link_right else digest(99)
            accepted = period > latest_period and prev == latest_digest
            if accepted:
                env.publish(period, digest(value), prev)
                model.append((period, digest(value)))
            else:
                assert env.revert(period, digest(value), prev) in REFUSALS
        assert env.view("anchorCount") == len(model)
        for index, (period, anchored) in enumerate(model):
            assert env.view("periodAt", index) == period
            assert env.view("digestOf", period) == anchored
    finally:
        env.chain.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
