"""API keys and principals, pure: the token's form and entropy, its digest, and who may act on
which merchant."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.access.keys import new_token, parse_token, secret_digest
from settlement.access.principal import AccessRefused, Principal, Role
from settlement.refusals import REFUSALS, http_status

STORED_PREFIX = re.compile(r"^msk_[a-z0-9]{8,16}$")
"""The ``api_keys.prefix`` column's CHECK (migration 0012)."""
merchant_ids = st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True)


def test_a_new_token_has_a_stored_prefix_and_256_bits_of_secret() -> None:
    prefix, secret = new_token()
    assert STORED_PREFIX.match(prefix)
    raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    assert len(raw) == 32
    assert parse_token(f"{prefix}_{secret}") == (prefix, secret)


def test_tokens_do_not_repeat() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert len({prefix for prefix, _ in tokens}) == 1000


@given(st.data())
def test_every_token_parses_back_to_its_parts(data: st.DataObject) -> None:
    prefix = "msk_" + data.draw(st.from_regex(r"[a-z0-9]{8,16}", fullmatch=True))
    secret = data.draw(st.from_regex(r"[A-Za-z0-9_-]{43,128}", fullmatch=True))
    assert parse_token(f"{prefix}_{secret}") == (prefix, secret)


@given(st.text(max_size=200))
def test_only_well_formed_tokens_parse(text: str) -> None:
    parsed = parse_token(text)
    if parsed is not None:
        assert f"{parsed[0]}_{parsed[1]}" == text
        assert STORED_PREFIX.match(parsed[0])


@pytest.mark.parametrize(
    "token",
    ["", "msk_", "msk_abc_" + "A" * 43, "msk_ABCDEFGH_" + "A" * 43, "msk_abcdefgh_short",
     "sk_abcdefgh_" + "A" * 43, "msk_abcdefgh_" + "A" * 42, "msk_abcdefgh_" + "A" * 43 + "="],
)  # fmt: skip
def test_malformed_tokens_do_not_parse(token: str) -> None:
    assert parse_token(token) is None


@given(st.from_regex(r"[A-Za-z0-9_-]{43}", fullmatch=True))
def test_the_stored_digest_is_the_secrets_sha256(secret: str) -> None:
    assert secret_digest(secret) == hashlib.sha256(secret.encode()).digest()
    assert len(secret_digest(secret)) == 32


def test_the_actor_names_role_and_owner() -> None:
    assert Principal(Role.MERCHANT, "UM001", uuid.uuid4()).actor == "merchant:UM001"
    assert Principal(Role.TREASURY, "officer1", None).actor == "treasury:officer1"


@given(merchant_ids, merchant_ids)
def test_a_merchant_acts_on_its_own_merchant_only(owner: str, other: str) -> None:
    principal = Principal(Role.MERCHANT, owner, uuid.uuid4())
    principal.require_merchant(owner)
    if other != owner:
        with pytest.raises(AccessRefused) as refused:
            principal.require_merchant(other)
        assert refused.value.code == "forbidden"
        assert http_status(refused.value) == 403


@given(merchant_ids)
def test_the_treasury_acts_on_every_merchant_and_a_gateway_on_none(merchant_id: str) -> None:
    Principal(Role.TREASURY, "operator", None).require_merchant(merchant_id)
    with pytest.raises(AccessRefused):
        Principal(Role.GATEWAY, merchant_id, uuid.uuid4()).require_merchant(merchant_id)


def test_the_access_codes_are_registered() -> None:
    assert REFUSALS["unauthenticated"].status == 401
    assert REFUSALS["forbidden"].status == 403
