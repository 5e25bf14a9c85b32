"""Properties of the proposal codec and of the verifier's check of an execution: exactly the
signed bytes count, only distinct officers in force count, and an expired proposal never
counts as executed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from settlement.audit import governance_log as g
from settlement.audit.bundle import BundleError, OfficerSet
from settlement.audit.canonical import canonical_bytes
from settlement.audit.proposal import (
    PROPOSAL_CONTEXT,
    Proposal,
    ProposalError,
    Signature,
    read_file,
    read_proposal,
    sign,
    sign_file,
    valid_signers,
    verifies,
    write_file,
)

KEYS = [SigningKey(bytes([0x30 + i]) * 32) for i in range(5)]
STRANGER = SigningKey(bytes([0x7F]) * 32)
json_scalars = st.one_of(
    st.integers(-(2**70), 2**70), st.text(max_size=12), st.booleans(), st.none()
)
params = st.dictionaries(st.text(min_size=1, max_size=8), json_scalars, max_size=4)
proposals = st.builds(
    Proposal,
    action=st.sampled_from(["period.close", "parameter.set", "rate.override"]),
    deployment=st.sampled_from(["madiun-production", "madiun-staging"]),
    nonce=st.integers(0, 2**40),
    expires_at_us=st.integers(1, 2**62),
    params=params,
)


def officer_set(count: int, threshold: int) -> OfficerSet:
    return OfficerSet(threshold, frozenset(bytes(k.verify_key) for k in KEYS[:count]))


@given(proposals)
def test_the_message_is_the_prefix_and_the_canonical_body(proposal: Proposal) -> None:
    assert proposal.message() == PROPOSAL_CONTEXT + canonical_bytes(proposal.body())
    assert read_proposal(proposal.body()) == proposal
    assert verifies(proposal, sign(proposal, KEYS[0]))


@given(proposals, proposals)
def test_a_signature_never_verifies_over_other_bytes(one: Proposal, other: Proposal) -> None:
    if one.message() != other.message():
        assert not verifies(other, sign(one, KEYS[0]))
        assert one.id() != other.id()


@given(proposals, st.sampled_from(["deployment", "nonce", "expires_at_us", "action"]))
def test_changing_any_signed_field_voids_the_signature(proposal: Proposal, field: str) -> None:
    body = proposal.body()
    body[field] = {
        "deployment": "elsewhere",
        "nonce": proposal.nonce + 1,
        "expires_at_us": proposal.expires_at_us + 1,
        "action": "officers.add",
    }[field]
    assert not verifies(read_proposal(body), sign(proposal, KEYS[1]))


@settings(max_examples=60, deadline=None)
@given(
    proposals,
    st.integers(1, 5),
    st.data(),
)
def test_an_execution_counts_iff_m_distinct_officers_in_force_signed_these_bytes(
    proposal: Proposal, size: int, data: st.DataObject
) -> None:
    threshold = data.draw(st.integers(1, size))
    current = officer_set(size, threshold)
    pool = [*KEYS, STRANGER]
    picks = data.draw(st.lists(st.tuples(st.sampled_from(pool), st.booleans()), max_size=8))
    other = Proposal(proposal.action, proposal.deployment, proposal.nonce + 1,
                     proposal.expires_at_us, proposal.params)  # fmt: skip
    signatures = [sign(proposal if honest else other, key) for key, honest in picks]
    expected = {bytes(k.verify_key) for k, honest in picks if honest} & current.keys
    assert valid_signers(proposal, signatures, current.keys) == expected
    at_us = data.draw(st.integers(0, 2**62))
    counts = len(expected) >= threshold and at_us <= proposal.expires_at_us
    outcome: object
    try:
        outcome = g.executed(proposal, signatures, None, current, at_us, "line 1")
    except BundleError:
        outcome = "refused"
    assert outcome == (current if counts else "refused")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.data())
def test_officer_actions_keep_one_to_n_officers_and_a_reachable_threshold(
    size: int, data: st.DataObject
) -> None:
    named = tuple((f"o{i}", bytes(k.verify_key).hex()) for i, k in enumerate(KEYS[:size]))
    threshold = data.draw(st.integers(1, size))
    action = data.draw(st.sampled_from(sorted(g.OFFICER_ACTIONS)))
    key = data.draw(st.sampled_from([*KEYS, STRANGER]))
    hex_key = bytes(key.verify_key).hex()
    chosen = {
        g.ADD: {"name": "new", "public_key": hex_key},
        g.REMOVE: {"public_key": hex_key},
        g.ROTATE_KEY: {"public_key": named[0][1], "new_public_key": hex_key},
        g.THRESHOLD: {"threshold": data.draw(st.integers(-1, 7))},
    }[action]
    try:
        after, new_threshold = g.named_change(named, threshold, action, chosen)
    except ProposalError as refused:
        code = refused.code
        after, new_threshold = (), 0
    else:
        code = "ok"
    assert code in ("ok", "governance_action_invalid")
    if code != "ok":
        return
    keys = [k for _, k in after]
    assert len(set(keys)) == len(keys)
    assert 1 <= new_threshold <= len(keys)
    current = OfficerSet(threshold, frozenset(bytes.fromhex(k) for _, k in named))
    assert g.key_change(current, action, chosen) == OfficerSet(
        new_threshold, frozenset(bytes.fromhex(k) for k in keys)
    )


def test_the_file_is_signed_offline_once_per_key(tmp_path: Path) -> None:
    proposal = Proposal("period.close", "madiun-production", 0, 10**15, {"period": "2026-11"})
    path = tmp_path / "p.json"
    write_file(path, proposal)
    assert sign_file(path, KEYS[0]) == (proposal, True)
    assert sign_file(path, KEYS[0]) == (proposal, False)
    assert sign_file(path, STRANGER)[1]
    read, signatures = read_file(path)
    assert read == proposal
    assert len(signatures) == 2
    assert valid_signers(proposal, signatures, officer_set(3, 2).keys) == {
        bytes(KEYS[0].verify_key)
    }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"action": "Period Close", "deployment": "d", "expires_at_us": 1, "nonce": 0, "params": {}},
        {"action": "a.b", "deployment": "D!", "expires_at_us": 1, "nonce": 0, "params": {}},
        {"action": "a.b", "deployment": "d", "expires_at_us": True, "nonce": 0, "params": {}},
        {"action": "a.b", "deployment": "d", "expires_at_us": 1, "nonce": -1, "params": {}},
        {"action": "a.b", "deployment": "d", "expires_at_us": 1, "nonce": 0, "params": []},
        {
            "action": "a.b",
            "deployment": "d",
            "expires_at_us": 1,
            "nonce": 0,
            "params": {"x": "y" * 3000},
        },
    ],
)
def test_a_malformed_proposal_is_refused_by_code(body: dict[str, object]) -> None:
    with pytest.raises(ProposalError) as refused:
        read_proposal(body)
    assert refused.value.code == "governance_proposal_malformed"


def test_a_malformed_signature_is_refused_by_code() -> None:
    from settlement.audit.proposal import read_signature

    for bad in (
        {},
        {"public_key": "00", "signature": "00"},
        {"public_key": "AA" * 32, "signature": "00" * 64},
    ):
        with pytest.raises(ProposalError) as refused:
            read_signature(bad)
        assert refused.value.code == "governance_signature_invalid"
    assert isinstance(read_signature({"public_key": "00" * 32, "signature": "00" * 64}), Signature)
