"""What an Idempotency-Key is bound to, pure: the request digest and the principal's scope."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from settlement.idempotency import request_digest

methods = st.sampled_from(["POST", "PUT", "PATCH", "DELETE"])
requests = st.tuples(methods, st.text(max_size=40), st.binary(max_size=40), st.binary(max_size=80))


@given(requests, requests)
def test_different_requests_have_different_digests(
    one: tuple[str, str, bytes, bytes], other: tuple[str, str, bytes, bytes]
) -> None:
    assert (request_digest(*one) == request_digest(*other)) == (one == other)


@given(st.binary(max_size=40), st.binary(max_size=40))
def test_moving_bytes_between_query_and_body_changes_the_digest(a: bytes, b: bytes) -> None:
    joined = request_digest("POST", "/v1/x", a + b, b"")
    split = request_digest("POST", "/v1/x", a, b)
    assert (joined == split) == (b == b"")


def test_the_digest_is_32_bytes_and_ignores_method_case() -> None:
    digest = request_digest("post", "/v1/merchants", b"", b"{}")
    assert len(digest) == 32
    assert digest == request_digest("POST", "/v1/merchants", b"", b"{}")
