"""Canonical JSON and pseudonyms: one spelling per value, floats refused, keyed names."""

from __future__ import annotations

import hashlib
import hmac
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.audit.canonical import (
    CanonicalError,
    account_label,
    canonical_bytes,
    parse_canonical,
    pseudonym,
)

KEY = b"test-pseudonym-key"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def test_canonical_form_is_sorted_compact_utf8() -> None:
    value = {"b": [1, True, None], "a": "Rupiah é", "c": {"z": -7, "y": 2**70}}
    assert (
        canonical_bytes(value)
        == ('{"a":"Rupiah é","b":[1,true,null],"c":{"y":1180591620717411303424,"z":-7}}').encode()
    )


@pytest.mark.parametrize("bad", [1.5, math.nan, math.inf, {"a": 0.0}, {1: "x"}, {"a": {1, 2}}])
def test_floats_and_non_json_values_are_refused(bad: object) -> None:
    with pytest.raises(CanonicalError):
        canonical_bytes(bad)


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(CanonicalError):
        canonical_bytes({"a": "\ud800"})


@given(json_values)
def test_canonical_round_trips_and_is_unique(value: object) -> None:
    data = canonical_bytes(value)
    assert parse_canonical(data) == value
    assert canonical_bytes(json.loads(data)) == data


@given(st.dictionaries(st.text(), st.integers(), min_size=2, max_size=6), st.randoms())
def test_key_order_does_not_change_the_bytes(value: dict[str, int], rnd: object) -> None:
    items = list(value.items())
    rnd.shuffle(items)  # type: ignore[attr-defined]
    assert canonical_bytes(dict(items)) == canonical_bytes(value)


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": 1}',
        b'{"b":1,"a":2}',
        b'{"a":1.0}',
        b'{"a":1e3}',
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b'{"a":1,"a":1}',
        b'{"a":"\\u00e9"}',
        b"\xff",
        b"[" * 100 + b"]" * 100,
        b"",
    ],
)
def test_non_canonical_or_strange_texts_are_refused(text: bytes) -> None:
    with pytest.raises(CanonicalError):
        parse_canonical(text)


def test_pseudonym_is_hmac_sha256_hex_of_the_party_id() -> None:
    expected = hmac.new(KEY, b"UM001", hashlib.sha256).hexdigest()
    assert pseudonym(KEY, "UM001") == expected
    assert pseudonym(b"another key", "UM001") != expected
    with pytest.raises(CanonicalError):
        pseudonym(b"", "UM001")


def test_account_label_pseudonymises_the_owner_only() -> None:
    public = frozenset({"treasury"})
    name = pseudonym(KEY, "UM001")
    assert account_label("merchant:UM001:IDR", "UM001", KEY, public) == f"merchant:{name}:IDR"
    assert account_label("treasury:pi_custody", "treasury", KEY, public) == "treasury:pi_custody"
    assert account_label("qris:clearing:IDR", None, KEY, public) == "qris:clearing:IDR"
    hidden = account_label("pi:user-42:PI", "pioneer-9", KEY, public)
    assert hidden.startswith(f"owned:{pseudonym(KEY, 'pioneer-9')}:")
    assert "user-42" not in hidden


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_distinct_owners_get_distinct_labels(first: str, second: str) -> None:
    labels = {
        account_label(f"merchant:{owner}:IDR", owner, KEY, frozenset()) for owner in {first, second}
    }
    assert len(labels) == len({first, second})
