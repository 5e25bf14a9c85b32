"""Merchants for tests: static QRIS payloads with a chosen NMID, fresh ids, onboarding bodies."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from chain.qris.payload import MerchantAccount, decode, encode

GOPAY_STATIC = (
    "00020101021126610014COM.GO-JEK.WWW01189360091435456007810210G5456007810303UMI51440014"
    "ID.CO.QRIS.WWW0215ID10190000023280303UMI5204581253033605802ID5916Kantin Ibu Lilik6013"
    "Jakarta Pusat61051031062070703A0163044C6B"
)
"""A real static payload (tests/fixtures/qris/vectors.json, gopay-static), NMID ID1019000002328."""


def static_qris(nmid: str, name: str = "Pecel Bu Tin") -> str:
    """A valid static payload whose national account (tag 51) carries ``nmid``."""
    source = decode(GOPAY_STATIC)
    accounts = tuple(
        replace(a, merchant_id=nmid) if a.tag == "51" else a for a in source.merchant_accounts
    )
    assert any(isinstance(a, MerchantAccount) and a.merchant_id == nmid for a in accounts)
    return encode(replace(source, merchant_accounts=accounts, merchant_name=name[:25]))


def fresh_id(prefix: str = "UM") -> str:
    """A merchant id no other test uses (tests on the worker's database commit)."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def fresh_nmid() -> str:
    """An NMID no other test uses."""
    return f"ID{uuid.uuid4().int % 10**13:013d}"


def merchant_body(merchant_id: str | None = None, **changes: Any) -> dict[str, Any]:
    """The JSON body onboarding Pecel Bu Tin (Pi and QRIS) under a fresh id and NMID."""
    nmid = fresh_nmid()
    body: dict[str, Any] = {
        "id": merchant_id or fresh_id(),
        "name": "Pecel Bu Tin",
        "kelurahan": "Kelurahan A",
        "rt": "01",
        "criteria": "UMI",
        "nmid": nmid,
        "static_qris": static_qris(nmid),
        "tenders": ["PI", "QRIS"],
        "settlement": {"PI": "PI", "QRIS": "IDR"},
    }
    body.update(changes)
    return body
