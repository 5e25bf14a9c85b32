"""The bundle's canonical JSON is RFC 8785 (JCS) for every value it publishes: checked against
the independent ``rfc8785`` package. The two differences outside that domain, named in
docs/audit-format.md, are pinned here so the document stays true."""

from __future__ import annotations

from typing import Any, Literal, cast

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from settlement.audit.canonical import canonical_bytes

SAFE_INTEGER_MAX = 2**53 - 1
"""JCS numbers are IEEE doubles: integers beyond this have no exact JCS form."""
SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
bmp_text = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=SURROGATES), max_size=12)
any_text = st.text(st.characters(exclude_categories=SURROGATES), max_size=12)
scalars = st.none() | st.booleans() | st.integers(-SAFE_INTEGER_MAX, SAFE_INTEGER_MAX) | any_text
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(bmp_text, inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_canonical_bytes_are_jcs(value: object) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(cast(Any, value))


def test_the_documented_differences_outside_the_published_domain() -> None:
    big = SAFE_INTEGER_MAX + 1
    assert canonical_bytes(big) == b"9007199254740992"
    try:
        rfc8785.dumps(big)
    except rfc8785.IntegerDomainError:
        pass
    else:
        raise AssertionError("JCS has no exact form for integers beyond 2^53 - 1")
    keys = {"\U0001f600": 1, "\ue000": 2}
    assert canonical_bytes(keys) == '{"\ue000":2,"\U0001f600":1}'.encode()
    assert rfc8785.dumps(keys) == '{"\U0001f600":1,"\ue000":2}'.encode()
