"""URL redaction: only scheme, host and port survive; everything else in the text stays."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain.redaction import redact_url, redact_urls


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://eth-sepolia.example/v3/KEY", "https://eth-sepolia.example/[redacted]"),
        ("https://rpc.example/?apikey=KEY", "https://rpc.example/[redacted]"),
        ("https://user:PW@rpc.example:8545/", "https://rpc.example:8545/[redacted]"),
        ("postgresql://msc:PW@db:5432/msc", "postgresql://db:5432/[redacted]"),
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("http://127.0.0.1:8545/", "http://127.0.0.1:8545/"),
    ],
)
def test_a_url_keeps_only_its_origin(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_urls_inside_error_text_are_redacted() -> None:
    text = (
        "RpcUnavailableError('HTTPConnectionPool(host=\\'h\\', port=1): Max retries exceeded"
        " with url: /v3/KEY?apikey=KEY2 (Caused by ...)') and 'GET http://h:1/KEY3/v2/me failed'"
    )
    redacted = redact_urls(text)
    assert "KEY" not in redacted
    assert "with url: /[redacted] (Caused by ...)" in redacted
    assert "'GET http://h:1/[redacted] failed'" in redacted


secret = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)


@given(secret, secret, secret, st.sampled_from(["http", "https", "wss", "postgresql"]))
def test_no_path_query_or_password_survives(
    password: str, path: str, query: str, scheme: str
) -> None:
    marker = "S3CR3T"
    url = f"{scheme}://u:{marker}{password}@host.example:8545/{marker}{path}?k={marker}{query}"
    redacted = redact_urls(f"failed: {url} (retrying) url: /{marker}{path}")
    assert marker not in redacted
    assert redacted.startswith(f"failed: {scheme}://host.example:8545/[redacted] (retrying)")
