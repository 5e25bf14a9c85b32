"""Fuzz target: a Xendit QR callback with the right token but any body, or any field of the
documented body replaced by any JSON value, is an event or our own ``NotificationError``."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chain.qris.gateways.errors import NotificationError
from chain.qris.gateways.xendit import XenditAdapter
from tests.unit.qris.test_qris_gateways import NOW, TOKEN, XENDIT_BODY

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
PATHS = (
    [("event",), ("created",)]
    + [("data", key) for key in XENDIT_BODY["data"]]
    + [("data", "payment_detail", key) for key in XENDIT_BODY["data"]["payment_detail"]]
)
ADAPTER = XenditAdapter(TOKEN)


def _assert_event_or_own_error(body: bytes) -> None:
    """An event that comes out is Xendit's, in whole IDR sen; else our own refusal."""
    try:
        event = ADAPTER.parse({"x-callback-token": TOKEN}, body, path="/", now=NOW)
    except NotificationError:
        return
    assert event.provider == "xendit"
    assert isinstance(event.amount_sen, int)
    assert not isinstance(event.amount_sen, bool)
    assert event.amount_sen >= 0


@given(st.binary(max_size=400))
def test_any_bytes(body: bytes) -> None:
    _assert_event_or_own_error(body)


@given(JSON)
def test_any_json_document(document: Any) -> None:
    _assert_event_or_own_error(json.dumps(document).encode())


@given(st.lists(st.tuples(st.sampled_from(PATHS), JSON), min_size=1, max_size=3))
def test_the_documented_body_with_fields_replaced(edits: list[tuple[tuple[str, ...], Any]]) -> None:
    body = copy.deepcopy(XENDIT_BODY)
    for path, value in edits:
        parent = body
        for key in path[:-1]:
            if not isinstance(parent.get(key), dict):
                parent[key] = {}
            parent = parent[key]
        parent[path[-1]] = value
    _assert_event_or_own_error(json.dumps(body, allow_nan=True).encode())
