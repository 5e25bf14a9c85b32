"""Network addresses without their secrets, for log lines and stored errors.

Providers put API keys in a URL's path (``/v3/<key>``), its query (``?apikey=``) or its password;
only the scheme, host and port of an address are safe to show.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://([^\s/?#'\"<>]*)([^\s'\"<>]*)")
_PATH_AFTER_URL_LABEL = re.compile(r"(\burl: )(/[^\s'\"<>]*)")
"""urllib3 names the path alone: ``Max retries exceeded with url: /v3/<key>?x=y``."""


def redact_url(url: str) -> str:
    """``scheme://host:port`` of ``url``; ``/[redacted]`` where a password, path or query was."""
    return _URL.sub(_origin_only, url)


def redact_urls(text: str) -> str:
    """``text`` with every URL's password, path and query replaced by ``[redacted]``."""
    return _PATH_AFTER_URL_LABEL.sub(rf"\1/{REDACTED}", _URL.sub(_origin_only, text))


def _origin_only(match: re.Match[str]) -> str:
    scheme, authority, rest = match.groups()
    _, at, host = authority.rpartition("@")
    origin = f"{scheme}://{host}"
    return f"{origin}/{REDACTED}" if at or rest not in ("", "/") else origin + rest
