"""Idempotency keys: the first answer to a request, kept so that a retry gets it again.

A client sends ``Idempotency-Key`` on a state-changing request. The key is scoped by the
caller it authenticates as (``merchant:UM001``, ``treasury:officer1``, ``pioneer:<uid>``;
``api.auth.key_caller_of`` and ``pioneer_caller_of``: a request that authenticates as nobody
claims nothing) and bound to the request (method, path, query and body bytes, hashed). The first
request *claims* the key in a transaction of its own (``in_progress``, locked for ``lock_s``);
its answer is *recorded* (``done``), in the use case's own transaction where the route keeps it
there (``api.answers.run_kept``), and replayed to every retry of the same request for
``ttl_s``; a different request with the same key is refused, and so is a retry while the first
still runs. An answer that did not change anything (a 5xx, whose transaction rolled back, or a
refusal before the use case) is *released* instead, so the retry runs again; a claim whose holder
crashed is taken over once its lock passes (decision 0017; IETF
draft-ietf-httpapi-idempotency-key-header, Stripe's semantics).

``api/idempotency.py`` is the HTTP side (a middleware); this module is the storage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection

from escrow.calendar import US_PER_S, from_us, to_us
from escrow.refusals import Refusal
from escrow.sql import sql

__all__ = [
    "Claim",
    "IdempotencyRefused",
    "Outcome",
    "StoredAnswer",
    "claim",
    "purge_expired",
    "record",
    "release",
    "request_digest",
]

claim_attempts_max = 3
"""A claim races a release at most this many times before it gives up (as ``in_use``)."""


class IdempotencyRefused(Refusal):
    """The key is missing or malformed (400), in use (409) or used for another request (422)."""

    code = "idempotency_key_required"


class Outcome(StrEnum):
    """What a claim found."""

    CLAIMED = "claimed"
    """The key is this request's now: run it, then record or release."""
    REPLAY = "replay"
    """The same request was answered before: send that answer again."""
    REUSED = "reused"
    """The key was used for another request (422 ``idempotency_key_reused``)."""
    IN_USE = "in_use"
    """The same request is still running (409 ``idempotency_key_in_use``)."""


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """An answer as kept: status, body bytes and content type."""

    status_code: int
    body: bytes
    content_type: str | None


@dataclass(frozen=True, slots=True)
class Claim:
    """The result of a claim; ``claimed_at_us`` identifies this request's hold on the key."""

    outcome: Outcome
    claimed_at_us: int
    answer: StoredAnswer | None = None


def request_digest(method: str, path: str, query: bytes, body: bytes) -> bytes:
    """SHA-256 over the request's method, path, query and body, each length-prefixed (so no
    two different requests share a digest by moving bytes from one part to the next)."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


_CLAIM = sql(
    """
    INSERT INTO idempotency_keys
        (principal, key, request_sha256, state, created_at, locked_until, expires_at)
    VALUES (:principal, :key, :digest, 'in_progress', :now, :locked_until, :expires_at)
    ON CONFLICT (principal, key) DO UPDATE SET
        request_sha256 = EXCLUDED.request_sha256, state = 'in_progress', status_code = NULL,
        response_body = NULL, response_type = NULL, created_at = EXCLUDED.created_at,
        locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
    WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
       OR (idempotency_keys.state = 'in_progress'
           AND idempotency_keys.locked_until <= EXCLUDED.created_at
           AND idempotency_keys.request_sha256 = EXCLUDED.request_sha256)
    RETURNING created_at
    """
)
_FOUND = sql(
    "SELECT request_sha256, state, status_code, response_body, response_type"
    " FROM idempotency_keys WHERE principal = :principal AND key = :key"
)


def claim(
    conn: Connection,
    principal: str,
    key: str,
    digest: bytes,
    *,
    now_us: int,
    ttl_s: int,
    lock_s: int,
) -> Claim:
    """Claim ``key`` for the request of ``digest``, or say why not. The caller commits the
    transaction before running the request (so a concurrent retry sees the claim).

    An expired key is claimed afresh; a claim whose lock passed is taken over by the same
    request (its holder crashed).
    """
    params = {
        "principal": principal,
        "key": key,
        "digest": digest,
        "now": from_us(now_us),
        "locked_until": from_us(now_us + lock_s * US_PER_S),
        "expires_at": from_us(now_us + ttl_s * US_PER_S),
    }
    for _ in range(claim_attempts_max):
        claimed = conn.execute(_CLAIM, params).scalar_one_or_none()
        if claimed is not None:
            return Claim(Outcome.CLAIMED, to_us(claimed))
        row = conn.execute(_FOUND, params).first()
        if row is None:
            continue  # released between the two statements: claim again
        if bytes(row.request_sha256) != digest:
            return Claim(Outcome.REUSED, now_us)
        if row.state != "done":
            return Claim(Outcome.IN_USE, now_us)
        answer = StoredAnswer(row.status_code, bytes(row.response_body or b""), row.response_type)
        return Claim(Outcome.REPLAY, now_us, answer)
    return Claim(Outcome.IN_USE, now_us)


def record(
    conn: Connection, principal: str, key: str, claimed_at_us: int, answer: StoredAnswer
) -> bool:
    """Keep ``answer`` as the key's; False when the claim was lost (taken over after its lock)."""
    done = conn.execute(
        sql(
            "UPDATE idempotency_keys SET state = 'done', status_code = :status,"
            " response_body = :body, response_type = :type"
            " WHERE principal = :principal AND key = :key AND created_at = :claimed"
            " AND state = 'in_progress'"
        ),
        {
            "principal": principal,
            "key": key,
            "claimed": from_us(claimed_at_us),
            "status": answer.status_code,
            "body": answer.body,
            "type": answer.content_type,
        },
    )
    return done.rowcount == 1


def release(conn: Connection, principal: str, key: str, claimed_at_us: int) -> None:
    """Give the key up (the request changed nothing): a retry runs it again."""
    conn.execute(
        sql(
            "DELETE FROM idempotency_keys WHERE principal = :principal AND key = :key"
            " AND created_at = :claimed AND state = 'in_progress'"
        ),
        {"principal": principal, "key": key, "claimed": from_us(claimed_at_us)},
    )


def purge_expired(conn: Connection, now_us: int, limit: int) -> int:
    """Delete at most ``limit`` keys whose time passed; how many were deleted."""
    purged = conn.execute(
        sql(
            "DELETE FROM idempotency_keys WHERE (principal, key) IN (SELECT principal, key"
            " FROM idempotency_keys WHERE expires_at <= :now ORDER BY expires_at LIMIT :limit)"
        ),
        {"now": from_us(now_us), "limit": limit},
    )
    return purged.rowcount
