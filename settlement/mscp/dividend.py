"""The monthly data dividend: a batch file signed by an approved data team key (ed25519).

The file is JSON ``{"batch": {...}, "key_id": "...", "signature": "<128 hex>"}``; the batch is
``{"batch_id", "month": "YYYY-MM", "lines": [{"uid", "points"}, ...]}`` and the signature is
over ``DOMAIN`` followed by the batch as sorted-key compact JSON, so the signer and the service
sign and check the same bytes. Accepted once: a batch already accepted (by its digest or its
id) is refused ``dividend_batch_replayed``; an unknown key ``dividend_key_unknown``; a signature
over other bytes ``dividend_signature_invalid``; nothing is issued then. Each line issues its
points from the budget (``points.dividend``) keyed by batch and Pioneer, all in one unit of work:
a budget that cannot cover the whole batch refuses it whole.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from escrow.calendar import from_us
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement import parameters
from settlement.mscp.issue import issue_many
from settlement.unit_of_work import UnitOfWork

DOMAIN = b"msc-settlement/data-dividend/v1\n"
lines_max = 100_000
points_per_line_max = 1_000_000
file_bytes_max = 16 * 1024 * 1024
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class DividendRefused(Refusal, ValueError):
    """A batch refused: ``dividend_batch_invalid``, ``dividend_key_unknown``,
    ``dividend_signature_invalid``, ``dividend_batch_replayed``."""

    code = "dividend_batch_invalid"


@dataclass(frozen=True, slots=True)
class Accepted:
    """An accepted batch: its digest, id, month, Pioneers and points."""

    digest: str
    batch_id: str
    month: str
    pioneers: int
    points: int


def signed_bytes(batch: dict[str, Any]) -> bytes:
    """The bytes a data team key signs: the domain, then the batch as canonical JSON."""
    return DOMAIN + json.dumps(batch, sort_keys=True, separators=(",", ":")).encode()


def sign(batch: dict[str, Any], key_id: str, seed_hex: str) -> dict[str, Any]:
    """The signed file of ``batch`` (the data team's tool; tests use it)."""
    signature = SigningKey(bytes.fromhex(seed_hex)).sign(signed_bytes(batch)).signature
    return {"batch": batch, "key_id": key_id, "signature": signature.hex()}


def _lines(batch: object) -> list[tuple[str, int]]:
    if not isinstance(batch, dict) or set(batch) != {"batch_id", "month", "lines"}:
        raise DividendRefused("a batch has batch_id, month and lines")
    if not _ID.fullmatch(str(batch["batch_id"])) or not _MONTH.fullmatch(str(batch["month"])):
        raise DividendRefused("batch_id is 1-64 of [A-Za-z0-9_.:-], month is YYYY-MM")
    lines = batch["lines"]
    if not isinstance(lines, list) or not 1 <= len(lines) <= lines_max:
        raise DividendRefused(f"a batch has 1 to {lines_max} lines")
    out: dict[str, int] = {}
    for line in lines:
        uid = line.get("uid") if isinstance(line, dict) else None
        points = line.get("points") if isinstance(line, dict) else None
        if not isinstance(uid, str) or not 1 <= len(uid) <= 128 or uid in out:
            raise DividendRefused("each line names a distinct Pioneer uid")
        if isinstance(points, bool) or not isinstance(points, int):
            raise DividendRefused("points are a whole number")
        if not 1 <= points <= points_per_line_max:
            raise DividendRefused(f"points per line are 1..{points_per_line_max}")
        out[uid] = points
    return sorted(out.items())


def verify(uow: UnitOfWork, raw: bytes) -> tuple[dict[str, Any], str, str]:
    """The batch, its key id and digest, once the file parses and its signature verifies by an
    approved key; refused otherwise (nothing written)."""
    if len(raw) > file_bytes_max:
        raise DividendRefused("the batch file is too large")
    try:
        signed = json.loads(raw)
    except ValueError:
        raise DividendRefused("the batch file is not JSON") from None
    if not isinstance(signed, dict) or set(signed) != {"batch", "key_id", "signature"}:
        raise DividendRefused("a signed batch has batch, key_id and signature")
    _lines(signed["batch"])
    key = parameters.data_team_keys(uow.conn).get(str(signed["key_id"]))
    if key is None:
        raise DividendRefused(f"key {signed['key_id']!r}", code="dividend_key_unknown")
    try:
        signature = bytes.fromhex(str(signed["signature"]))
        VerifyKey(bytes.fromhex(key)).verify(signed_bytes(signed["batch"]), signature)
    except (ValueError, BadSignatureError):
        raise DividendRefused("bad signature", code="dividend_signature_invalid") from None
    digest = hashlib.sha256(signed_bytes(signed["batch"])).hexdigest()
    return signed["batch"], str(signed["key_id"]), digest


def accept(uow: UnitOfWork, raw: bytes, by: str) -> Accepted:
    """Verify the signed batch ``raw`` and issue its points, once."""
    batch, key_id, digest = verify(uow, raw)
    uow.conn.execute(sql("SELECT pg_advisory_xact_lock(hashtextextended('dividend', 13))"))
    seen = uow.conn.execute(
        sql("SELECT 1 FROM data_dividend_batches WHERE digest = :d OR batch_id = :b"),
        {"d": digest, "b": batch["batch_id"]},
    ).first()
    if seen is not None:
        raise DividendRefused("already accepted", code="dividend_batch_replayed")
    lines = _lines(batch)
    issued = [(uid, points, f"{batch['batch_id']}:{uid}") for uid, points in lines]
    issue_many(uow, issued, "data_dividend")  # all lines or none
    total = sum(points for _, points in lines)
    uow.conn.execute(
        sql(
            "INSERT INTO data_dividend_batches (digest, batch_id, month, key_id, pioneers, points,"
            " accepted_at, accepted_by) VALUES (:d, :b, :m, :k, :n, :p, :at, :by)"
        ),
        {
            "d": digest, "b": batch["batch_id"], "m": batch["month"], "k": key_id,
            "n": len(lines), "p": total, "at": from_us(uow.clock.now_us()), "by": by,
        },
    )  # fmt: skip
    return Accepted(digest, str(batch["batch_id"]), str(batch["month"]), len(lines), total)
