"""Deterministic transfer ids: one external event, one id, as RFC 9562's UUIDv5 defines it."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escrow.errors import InvalidTransfer
from escrow.model import TRANSFER_ID_NAMESPACE, transfer_id

names = st.text(min_size=1, max_size=80).filter(lambda t: t.isprintable())


@given(names, names)
def test_the_id_is_the_uuid5_of_namespace_and_event(namespace: str, external_id: str) -> None:
    """The hand-rolled id is exactly ``uuid.uuid5`` (ids already stored must not change)."""
    expected = uuid.uuid5(TRANSFER_ID_NAMESPACE, f"{namespace}\x1f{external_id}")
    found = transfer_id(namespace, external_id)
    assert found == expected
    assert (found.version, found.variant) == (5, uuid.RFC_4122)


def test_a_known_id_stays_what_it_was() -> None:
    """A vector computed with the standard library's ``uuid.uuid5`` before the change."""
    assert str(transfer_id("pi.payment", "abc")) == "11b50798-5fc4-5225-8591-c5c8cbea23a4"


@pytest.mark.parametrize(("namespace", "external_id"), [("", "x"), ("x", "")])
def test_an_empty_part_is_refused(namespace: str, external_id: str) -> None:
    with pytest.raises(InvalidTransfer):
        transfer_id(namespace, external_id)
