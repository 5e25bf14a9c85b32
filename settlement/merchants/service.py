"""Onboarding, suspension and reading of merchants.

Onboarding is idempotent: the same fields again are the same merchant; other fields under an id
already taken are refused (``merchant_exists``), never merged. A static QRIS payload is decoded
with the QRIS codec before it is stored: it must be static and carry the NMID the merchant is
onboarded with (a QRIS tender needs one, since each checkout's dynamic payload is built from it).
Every status change records who made it and when.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection

from chain.qris.payload import QrisError, decode
from escrow.calendar import from_us, to_us
from escrow.sql import sql
from settlement.merchants.model import (
    CRITERIA,
    Merchant,
    MerchantRefused,
    MerchantRequest,
    MerchantStatus,
)
from settlement.merchants.scripts import mixed_script_word
from settlement.tenders import SETTLEMENT_CHOICES, TENDER_ASSET, Tender
from settlement.unit_of_work import UnitOfWork

__all__ = [
    "find",
    "list_merchants",
    "merchants_page_max",
    "names",
    "onboard",
    "reactivate",
    "require_active",
    "suspend",
    "validate",
]

merchants_page_max = 100
name_chars_max = 100
kelurahan_chars_max = 64
rt_chars_max = 8
static_qris_chars_max = 512
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_NMID = re.compile(r"[A-Za-z0-9]{1,32}")
_TENDER_ORDER = tuple(Tender)


def validate(request: MerchantRequest, *, status: MerchantStatus, by: str, now_us: int) -> Merchant:
    """The merchant ``request`` describes, checked and normalised (names stripped, the NMID
    taken from the static payload when not given, a settlement choice for every tender)."""
    if not _ID.fullmatch(request.id):
        raise MerchantRefused(f"id {request.id!r}: 1 to 32 letters, digits, _ or -")
    name = _text("name", request.name, name_chars_max)
    mixed = mixed_script_word(name)
    if mixed is not None:
        raise MerchantRefused(
            f"name: the word {mixed!r} mixes scripts", code="merchant_name_mixed_script"
        )
    kelurahan = _text("kelurahan", request.kelurahan, kelurahan_chars_max)
    rt = _text("rt", request.rt, rt_chars_max) if request.rt is not None else None
    if request.criteria not in CRITERIA:
        raise MerchantRefused(f"criteria {request.criteria!r}: one of {', '.join(CRITERIA)}")
    if not request.tenders:
        raise MerchantRefused("a merchant accepts at least one tender")
    nmid = _static_nmid(request)
    return Merchant(
        id=request.id,
        name=name,
        kelurahan=kelurahan,
        rt=rt,
        criteria=request.criteria,
        nmid=nmid,
        static_qris=request.static_qris,
        tenders=frozenset(request.tenders),
        settlement=_settlement(request.tenders, request.settlement),
        status=status,
        created_at_us=now_us,
        created_by=by,
    )


def _text(name: str, value: str, chars_max: int) -> str:
    stripped = value.strip()
    if not (1 <= len(stripped) <= chars_max and stripped.isprintable()):
        raise MerchantRefused(f"{name}: 1 to {chars_max} printable characters")
    return stripped


def _static_nmid(request: MerchantRequest) -> str | None:
    """The merchant's NMID, checked against its static payload (which a QRIS tender needs)."""
    if request.nmid is not None and not _NMID.fullmatch(request.nmid):
        raise MerchantRefused(f"nmid {request.nmid!r}: 1 to 32 letters or digits")
    if request.static_qris is None:
        if Tender.QRIS in request.tenders:
            raise MerchantRefused(
                "the QRIS tender needs the merchant's static payload", code="merchant_qris_required"
            )
        return request.nmid
    if len(request.static_qris) > static_qris_chars_max:
        raise MerchantRefused(
            f"static payload: at most {static_qris_chars_max} characters",
            code="merchant_qris_invalid",
        )
    try:
        payload = decode(request.static_qris)
    except QrisError as error:
        raise MerchantRefused(f"static payload: {error}", code="merchant_qris_invalid") from None
    if payload.is_dynamic:
        raise MerchantRefused("the payload is dynamic, not static", code="merchant_qris_invalid")
    if payload.nmid is None:
        raise MerchantRefused("the static payload carries no NMID", code="merchant_qris_invalid")
    if request.nmid is not None and request.nmid != payload.nmid:
        raise MerchantRefused(
            f"NMID {request.nmid} but the static payload's is {payload.nmid}",
            code="merchant_qris_invalid",
        )
    return payload.nmid


def _settlement(tenders: frozenset[Tender], chosen: Mapping[Tender, str]) -> Mapping[Tender, str]:
    stray = set(chosen) - set(tenders)
    if stray:
        raise MerchantRefused(f"settlement for tenders not accepted: {sorted(stray)}")
    for tender, asset in chosen.items():
        if asset not in SETTLEMENT_CHOICES[tender]:
            choices = ", ".join(sorted(SETTLEMENT_CHOICES[tender]))
            raise MerchantRefused(f"{tender} settles in one of {choices}, not {asset!r}")
    ordered = [t for t in _TENDER_ORDER if t in tenders]
    return MappingProxyType({t: chosen.get(t, TENDER_ASSET[t]) for t in ordered})


def onboard(uow: UnitOfWork, request: MerchantRequest, by: str) -> Merchant:
    """Onboard a merchant; the same fields again answer the merchant already onboarded.

    Refusals: ``merchant_invalid``, ``merchant_qris_required``, ``merchant_qris_invalid`` (422),
    ``merchant_exists`` (the id with other fields), ``merchant_nmid_taken`` (409).
    """
    wanted = validate(request, status=MerchantStatus.ACTIVE, by=by, now_us=uow.clock.now_us())
    inserted = uow.conn.execute(
        sql(
            "INSERT INTO merchants (id, name, kelurahan, rt, criteria, nmid, static_qris,"
            " tenders, settlement, status, created_at, created_by) VALUES (:id, :name,"
            " :kelurahan, :rt, :criteria, :nmid, :static_qris, :tenders, CAST(:settlement AS"
            " jsonb), 'active', :at, :by) ON CONFLICT DO NOTHING"
        ),
        {
            "id": wanted.id,
            "name": wanted.name,
            "kelurahan": wanted.kelurahan,
            "rt": wanted.rt,
            "criteria": wanted.criteria,
            "nmid": wanted.nmid,
            "static_qris": wanted.static_qris,
            "tenders": [str(t) for t in wanted.settlement],
            "settlement": json.dumps({str(t): a for t, a in wanted.settlement.items()}),
            "at": from_us(wanted.created_at_us),
            "by": by,
        },
    )
    if inserted.rowcount == 1:
        return wanted
    existing = find(uow.conn, wanted.id)
    if existing is None:
        raise MerchantRefused(
            f"NMID {wanted.nmid} belongs to another merchant", code="merchant_nmid_taken"
        )
    if not existing.same_fields(wanted):
        raise MerchantRefused(
            f"merchant {wanted.id} is onboarded with other fields", code="merchant_exists"
        )
    return existing


def suspend(uow: UnitOfWork, merchant_id: str, by: str) -> Merchant:
    """Suspend a merchant (no new checkouts); suspending a suspended one changes nothing."""
    return _set_status(uow, merchant_id, MerchantStatus.SUSPENDED, by)


def reactivate(uow: UnitOfWork, merchant_id: str, by: str) -> Merchant:
    """Reactivate a suspended merchant; reactivating an active one changes nothing."""
    return _set_status(uow, merchant_id, MerchantStatus.ACTIVE, by)


def _set_status(uow: UnitOfWork, merchant_id: str, status: MerchantStatus, by: str) -> Merchant:
    uow.conn.execute(
        sql(
            "UPDATE merchants SET status = :status, status_changed_at = :at,"
            " status_changed_by = :by WHERE id = :id AND status <> :status"
        ),
        {"id": merchant_id, "status": str(status), "at": from_us(uow.clock.now_us()), "by": by},
    )
    found = find(uow.conn, merchant_id)
    if found is None:
        raise MerchantRefused(f"no merchant {merchant_id}", code="merchant_unknown")
    return found


_COLUMNS = (
    "id, name, kelurahan, rt, criteria, nmid, static_qris, tenders, settlement, status,"
    " created_at, created_by, status_changed_at, status_changed_by"
)


def find(conn: Connection, merchant_id: str) -> Merchant | None:
    """The merchant with this id, or None."""
    row = conn.execute(
        sql(f"SELECT {_COLUMNS} FROM merchants WHERE id = :id"),  # noqa: S608 - constant columns
        {"id": merchant_id},
    ).first()
    return _merchant(row._mapping) if row is not None else None


def names(conn: Connection, merchant_ids: Collection[str]) -> dict[str, str]:
    """The names of these merchants, by id (one statement; none asked, none read)."""
    if not merchant_ids:
        return {}
    rows = conn.execute(
        sql("SELECT id, name FROM merchants WHERE id = ANY(:ids)"), {"ids": sorted(merchant_ids)}
    )
    return {row.id: row.name for row in rows}


def require_active(conn: Connection, merchant_id: str) -> Merchant:
    """The merchant, if it may take a checkout: ``merchant_unknown`` (404) or
    ``merchant_suspended`` (409) otherwise."""
    found = find(conn, merchant_id)
    if found is None:
        raise MerchantRefused(f"no merchant {merchant_id}", code="merchant_unknown")
    if not found.active:
        raise MerchantRefused(f"merchant {merchant_id} is suspended", code="merchant_suspended")
    return found


def list_merchants(
    conn: Connection, *, after: str = "", limit: int = merchants_page_max
) -> list[Merchant]:
    """A page of merchants by id, those after ``after`` (the last id of the previous page)."""
    rows = conn.execute(
        sql(
            f'SELECT {_COLUMNS} FROM merchants WHERE id COLLATE "C" > :after'  # noqa: S608
            ' ORDER BY id COLLATE "C" LIMIT :limit'
        ),
        {"after": after, "limit": min(max(limit, 1), merchants_page_max)},
    )
    return [_merchant(row._mapping) for row in rows]


def _merchant(row: Any) -> Merchant:  # noqa: ANN401 - a SQLAlchemy row mapping
    settlement = {Tender(t): str(a) for t, a in row["settlement"].items()}
    tenders = [Tender(t) for t in row["tenders"]]
    changed = row["status_changed_at"]
    return Merchant(
        id=row["id"],
        name=row["name"],
        kelurahan=row["kelurahan"],
        rt=row["rt"],
        criteria=row["criteria"],
        nmid=row["nmid"],
        static_qris=row["static_qris"],
        tenders=frozenset(tenders),
        settlement=MappingProxyType({t: settlement.get(t, TENDER_ASSET[t]) for t in tenders}),
        status=MerchantStatus(row["status"]),
        created_at_us=to_us(row["created_at"]),
        created_by=row["created_by"],
        status_changed_at_us=to_us(changed) if changed is not None else None,
        status_changed_by=row["status_changed_by"],
    )
