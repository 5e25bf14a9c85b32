"""Chapter one: the treasury onboards Pecel Bu Tin (the pilot's split-tender merchant), issues
her till a key, registers its three officers, sets the month's incentive terms by their
proposals and where her Rupiah is paid."""

from __future__ import annotations

import hashlib
from typing import Any

from chain.qris.encode import encode
from chain.qris.model import MerchantAccount, Payload
from settlement import points
from settlement.demo import governed
from settlement.demo.story import Step
from settlement.demo.world import DemoError, World, rupiah

TREASURY = "treasury:demo"
DEMO_CITY = "MADIUN"
QRIS_NATIONAL_TAG = "51"
QRIS_NATIONAL_GUID = "ID.CO.QRIS.WWW"
QRIS_STATIC = "11"
MCC_EATING_PLACES = "5812"
RUPIAH_NUMERIC = "360"
QRIS_NAME_CHARS_MAX = 25
NMID_DIGITS = 13
PLATFORM_FEE_BP = 100
COMMUNITY_FUND_BP = 50
"""The demo's revenue share: the treasury's terms, set like any merchant's (decision 0018)."""
POINTS_BUDGET = 1000
"""Points the treasury funds for the month's cashback."""
DEMO_BANK = {"bank_code": "014", "account_number": "0012345678"}
"""A sandbox bank account for Bu Tin's Rupiah payouts (the holder is her stall's name)."""


def split_merchant(world: World) -> dict[str, Any]:
    """The pilot's merchant of the split-tender example (UM001, Pecel Bu Tin)."""
    wanted = world.pilot["split_tender_example"]["merchant"]
    for found in world.pilot["merchants"]:
        if found["umkm_id"] == wanted:
            return dict(found)
    raise DemoError(f"pilot.json lists no merchant {wanted!r} (its split_tender_example)")


def sandbox_nmid(umkm_id: str) -> str:
    """The NMID the sandbox acquirer gives the merchant (derived from its id, so reruns agree)."""
    number = int.from_bytes(hashlib.sha256(umkm_id.encode()).digest()[:8], "big")
    return f"ID{number % 10**NMID_DIGITS:0{NMID_DIGITS}d}"


def static_qris(nmid: str, name: str, criteria: str) -> str:
    """The stall's printed static QRIS (national account, tag 51), as its acquirer issues it."""
    account = MerchantAccount(
        tag=QRIS_NATIONAL_TAG, guid=QRIS_NATIONAL_GUID, merchant_id=nmid, criteria=criteria
    )
    return encode(
        Payload(
            initiation=QRIS_STATIC,
            merchant_accounts=(account,),
            mcc=MCC_EATING_PLACES,
            currency=RUPIAH_NUMERIC,
            country="ID",
            merchant_name=name[:QRIS_NAME_CHARS_MAX],
            merchant_city=DEMO_CITY,
        )
    )


def onboard(world: World) -> str:
    """POST /v1/merchants as the treasury, then a key for the till."""
    pilot = split_merchant(world)
    nmid = sandbox_nmid(pilot["umkm_id"])
    body = {
        "id": pilot["umkm_id"],
        "name": pilot["name"],
        "kelurahan": pilot["kelurahan"],
        "rt": pilot["rt"],
        "criteria": pilot["criteria"],
        "nmid": nmid,
        "static_qris": static_qris(nmid, pilot["name"], pilot["criteria"]),
        "tenders": ["PI", "QRIS"],
    }
    merchant = world.call("POST", "/v1/merchants", auth=world.operator, json=body, expect=201,
                          keyed=True)  # fmt: skip
    issued = world.call(
        "POST",
        f"/v1/merchants/{merchant['id']}/keys",
        auth=world.operator,
        json={"label": "till"},
        expect=201,
        keyed=True,
    )
    world.scene.merchant_id = merchant["id"]
    world.scene.merchant = {"Authorization": f"Bearer {issued['token']}"}
    world.look_at("/v1/balances", "Bu Tin's merchant key")
    return (
        f"{merchant['name']} ({merchant['id']}, {pilot['kelurahan']} RT {pilot['rt']})"
        f" accepts {'+'.join(merchant['tenders'])}, NMID {nmid}; till key issued"
    )


def terms(world: World) -> str:
    """The month's cashback (incentives.json) in her revenue-share rule and the point value,
    each a 2-of-3 proposal (`share.set`, `parameter.set`); a funded points budget."""
    merchant_id = world.scene.merchant_id
    cashback = world.incentives["first_month_cashback"]
    point_value = world.incentives["point_value_idr"]
    rule = {
        "rule_id": merchant_id,
        "allotments": [
            {"to": "platform_fee", "percent_bp": PLATFORM_FEE_BP},
            {"to": "community_fund", "percent_bp": COMMUNITY_FUND_BP},
            {"to": "merchant", "remaining": True},
        ],
        "cashback_bp": cashback["pct"] * 100,
        "cashback_cap": f"{cashback['cap_idr']}.00",
    }
    shared = governed.govern(world, "share.set", rule)
    valued = governed.govern(
        world, "parameter.set", {"name": "point_value_idr", "value": f"{point_value}.00"}
    )
    world.treasury(
        lambda uow: points.fund_budget(uow, POINTS_BUDGET, TREASURY, f"demo-budget-{merchant_id}")
    )
    return (
        f"cashback {cashback['pct']}% (cap {rupiah(cashback['cap_idr'])}), a point is worth"
        f" {rupiah(point_value)} (proposals {shared['nonce']} and {valued['nonce']} executed),"
        f" {POINTS_BUDGET} points funded"
    )


def payout_details(world: World) -> str:
    """PUT /v1/merchants/{id}/payout-details: where her Rupiah goes each day."""
    merchant_id = world.scene.merchant_id
    holder = split_merchant(world)["name"]
    bank = {**DEMO_BANK, "holder_name": holder}
    world.call(
        "PUT",
        f"/v1/merchants/{merchant_id}/payout-details",
        auth=world.operator,
        json={"bank_account": bank, "pi_uid": None},
        keyed=True,
    )
    return f"Rupiah paid daily to bank {bank['bank_code']} account {bank['account_number']}"


STEPS: list[Step[World]] = [
    Step("onboard", onboard),
    Step("officers", governed.officers),
    Step("terms", terms),
    Step("payout-details", payout_details),
]
