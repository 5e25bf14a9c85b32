"""API keys: random, shown once, stored as a SHA-256 digest, scoped to a role and an owner,
revocable, with the time each was last used (decision 0017).

A key reads ``msk_<prefix>_<secret>``: the prefix (12 lower-case letters and digits) names the
row and is not secret; the secret is 32 random bytes (``secrets.token_urlsafe``), of which only
the SHA-256 is stored. A high-entropy secret needs no slow hash: nobody can guess 256 bits from
its digest, and one SHA-256 per request costs nothing. The comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from escrow.calendar import US_PER_S, from_us, iso_of_us, to_us
from escrow.sql import sql
from settlement.access.principal import Principal, Role
from settlement.refusals import Refusal
from settlement.unit_of_work import UnitOfWork

__all__ = [
    "ApiKey",
    "IssuedKey",
    "KeyRefused",
    "authenticate",
    "issue_key",
    "list_keys",
    "new_token",
    "parse_token",
    "revoke_key",
    "secret_digest",
]

TOKEN_PREFIX = "msk_"  # noqa: S105 - the prefix of every key, not a secret
prefix_chars = 12
secret_bytes = 32
"""Entropy of a key's secret: 256 bits, base64url without padding (43 characters)."""
last_used_interval_s = 60
"""``last_used_at`` is written at most this often per key, not on every request."""
owner_chars_max = 48
"""So that ``<role>:<owner>`` (what events record as who) fits their 64 characters."""
label_chars_max = 100
_ALPHABET = string.ascii_lowercase + string.digits
_TOKEN = re.compile(r"msk_([a-z0-9]{8,16})_([A-Za-z0-9_-]{43,128})")
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,47}")


class KeyRefused(Refusal):
    """An API key cannot be issued (``api_key_invalid``, ``merchant_unknown``) or is unknown
    (``api_key_unknown``)."""

    code = "api_key_invalid"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: everything but its secret. Times are µs since the epoch."""

    id: uuid.UUID
    prefix: str
    role: Role
    owner: str
    label: str | None
    created_at_us: int
    created_by: str
    revoked_at_us: int | None
    revoked_by: str | None
    last_used_at_us: int | None

    @property
    def revoked(self) -> bool:
        """A revoked key authenticates nobody."""
        return self.revoked_at_us is not None

    def view(self) -> dict[str, object]:
        """The key as JSON-ready data, never its secret; times ISO 8601."""
        return {
            "id": str(self.id),
            "prefix": self.prefix,
            "role": str(self.role),
            "owner": self.owner,
            "label": self.label,
            "created_at": iso_of_us(self.created_at_us),
            "created_by": self.created_by,
            "revoked_at": iso_of_us(self.revoked_at_us),
            "revoked_by": self.revoked_by,
            "last_used_at": iso_of_us(self.last_used_at_us),
        }


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just issued, with its token: the only time the token is ever shown."""

    key: ApiKey
    token: str

    def view(self) -> dict[str, object]:
        """The key's view and its token."""
        return self.key.view() | {"token": self.token}


def new_token() -> tuple[str, str]:
    """A fresh (prefix, secret): ``msk_<12 chars>`` and 32 random bytes in base64url; the token
    is ``<prefix>_<secret>``."""
    prefix = TOKEN_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(prefix_chars))
    return prefix, secrets.token_urlsafe(secret_bytes)


def parse_token(token: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed token, else None."""
    found = _TOKEN.fullmatch(token)
    if found is None:
        return None
    return TOKEN_PREFIX + found.group(1), found.group(2)


def secret_digest(secret: str) -> bytes:
    """What is stored of a secret: its SHA-256 (32 bytes)."""
    return hashlib.sha256(secret.encode("ascii")).digest()


def issue_key(uow: UnitOfWork, *, role: Role, owner: str, label: str | None, by: str) -> IssuedKey:
    """Issue a key for ``owner`` in ``role``; a merchant key's owner must be a merchant.

    Not idempotent by design: each call is a new secret (the HTTP route's Idempotency-Key
    replays the first answer instead of issuing twice).
    """
    _check_owner(uow.conn, role, owner, label)
    prefix, secret = new_token()
    key = ApiKey(
        id=uuid.uuid4(),
        prefix=prefix,
        role=role,
        owner=owner,
        label=label,
        created_at_us=uow.clock.now_us(),
        created_by=by,
        revoked_at_us=None,
        revoked_by=None,
        last_used_at_us=None,
    )
    uow.conn.execute(
        sql(
            "INSERT INTO api_keys (id, prefix, secret_sha256, role, owner, label, created_at,"
            " created_by) VALUES (:id, :prefix, :digest, :role, :owner, :label, :at, :by)"
        ),
        {
            "id": key.id,
            "prefix": prefix,
            "digest": secret_digest(secret),
            "role": str(role),
            "owner": owner,
            "label": label,
            "at": from_us(key.created_at_us),
            "by": by,
        },
    )
    return IssuedKey(key, f"{prefix}_{secret}")


def _check_owner(conn: Connection, role: Role, owner: str, label: str | None) -> None:
    if not _OWNER.fullmatch(owner):
        raise KeyRefused(f"owner {owner!r}: 1 to {owner_chars_max} letters, digits or ._:@-")
    if label is not None and not (1 <= len(label) <= label_chars_max and label.isprintable()):
        raise KeyRefused(f"label: 1 to {label_chars_max} printable characters")
    if role is Role.MERCHANT:
        found = conn.execute(sql("SELECT 1 FROM merchants WHERE id = :id"), {"id": owner})
        if found.first() is None:
            raise KeyRefused(f"no merchant {owner}", code="merchant_unknown")


def revoke_key(uow: UnitOfWork, key_id: uuid.UUID, by: str) -> ApiKey:
    """Revoke a key from now on; revoking a revoked key changes nothing (idempotent)."""
    uow.conn.execute(
        sql(
            "UPDATE api_keys SET revoked_at = :at, revoked_by = :by"
            " WHERE id = :id AND revoked_at IS NULL"
        ),
        {"id": key_id, "at": from_us(uow.clock.now_us()), "by": by},
    )
    key = find_key(uow.conn, key_id)
    if key is None:
        raise KeyRefused(f"no API key {key_id}", code="api_key_unknown")
    return key


_COLUMNS = (
    "id, prefix, role, owner, label, created_at, created_by, revoked_at, revoked_by, last_used_at"
)


def find_key(conn: Connection, key_id: uuid.UUID) -> ApiKey | None:
    """The key with this id, or None."""
    row = conn.execute(
        sql(f"SELECT {_COLUMNS} FROM api_keys WHERE id = :id"),  # noqa: S608 - constant columns
        {"id": key_id},
    ).first()
    return _key(row._mapping) if row is not None else None


def list_keys(conn: Connection, *, role: Role, owner: str) -> list[ApiKey]:
    """Every key of ``owner`` in ``role``, revoked ones too, oldest first (never a secret)."""
    rows = conn.execute(
        sql(
            f"SELECT {_COLUMNS} FROM api_keys WHERE role = :role AND owner = :owner"  # noqa: S608
            " ORDER BY created_at, id"
        ),
        {"role": str(role), "owner": owner},
    )
    return [_key(row._mapping) for row in rows]


def authenticate(conn: Connection, token: str, now_us: int) -> Principal | None:
    """The principal of a valid, unrevoked ``token``, else None; notes the key's use (at most
    once per ``last_used_interval_s``, so a busy key is not a write per request)."""
    parsed = parse_token(token)
    if parsed is None:
        return None
    prefix, secret = parsed
    row = conn.execute(
        sql(
            "SELECT id, secret_sha256, role, owner, revoked_at, last_used_at FROM api_keys"
            " WHERE prefix = :prefix"
        ),
        {"prefix": prefix},
    ).first()
    if row is None or not hmac.compare_digest(bytes(row.secret_sha256), secret_digest(secret)):
        return None
    if row.revoked_at is not None:
        return None
    stale_before_us = now_us - last_used_interval_s * US_PER_S
    if row.last_used_at is None or to_us(row.last_used_at) < stale_before_us:
        conn.execute(
            sql(
                "UPDATE api_keys SET last_used_at = :now WHERE id = :id"
                " AND (last_used_at IS NULL OR last_used_at < :stale)"
            ),
            {"id": row.id, "now": from_us(now_us), "stale": from_us(stale_before_us)},
        )
    return Principal(Role(row.role), row.owner, row.id)


def _key(row: Any) -> ApiKey:  # noqa: ANN401 - a SQLAlchemy row mapping
    def us(value: Any) -> int | None:  # noqa: ANN401
        return to_us(value) if value is not None else None

    return ApiKey(
        id=row["id"],
        prefix=row["prefix"],
        role=Role(row["role"]),
        owner=row["owner"],
        label=row["label"],
        created_at_us=to_us(row["created_at"]),
        created_by=row["created_by"],
        revoked_at_us=us(row["revoked_at"]),
        revoked_by=row["revoked_by"],
        last_used_at_us=us(row["last_used_at"]),
    )
