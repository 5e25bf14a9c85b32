"""Who is paying: a Pioneer's Pi access token, checked with Pi."""

from __future__ import annotations

from chain.pi import errors as chain_errors
from settlement.pi.deps import PiDeps
from settlement.pi.errors import PiRefusal


def authenticate(deps: PiDeps, access_token: str) -> str:
    """The Pioneer's app-specific uid, as Pi `GET /v2/me` reports it for this token.

    Raises ``PiRefusal``: ``pi_unauthorized`` when Pi does not accept the token,
    ``pi_unavailable`` when Pi could not be asked.
    """
    try:
        return deps.platform.me(access_token).uid
    except (chain_errors.PiUnauthorizedError, chain_errors.PiApiError) as exc:
        raise PiRefusal("pi_unauthorized", "Pi did not accept the access token") from exc
    except chain_errors.PiError as exc:
        raise PiRefusal("pi_unavailable", f"Pi could not check the token: {exc}") from exc
