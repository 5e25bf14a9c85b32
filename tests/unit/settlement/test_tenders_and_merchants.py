"""Tenders and merchant validation, pure: settlement choices, the static QRIS check, the
normalised settlement of every accepted tender."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.merchants.model import MerchantRefused, MerchantRequest, MerchantStatus
from settlement.merchants.service import validate
from settlement.refusals import REFUSALS
from settlement.tenders import SETTLEMENT_CHOICES, TENDER_ASSET, Tender
from tests.support.merchants import GOPAY_STATIC, static_qris

GOPAY_NMID = "ID1019000002328"


def test_every_tender_has_an_asset_and_may_keep_it() -> None:
    assert set(TENDER_ASSET) == set(SETTLEMENT_CHOICES) == set(Tender)
    for tender, asset in TENDER_ASSET.items():
        assert asset in SETTLEMENT_CHOICES[tender]
    assert TENDER_ASSET[Tender.QRIS] == "IDR"
    assert SETTLEMENT_CHOICES[Tender.PI] == {"PI", "MSC", "IDR"}


def _request(**changes: object) -> MerchantRequest:
    base = MerchantRequest(
        id="UM001",
        name="Pecel Bu Tin",
        kelurahan="Kelurahan A",
        tenders=frozenset({Tender.PI, Tender.QRIS}),
        rt="01",
        static_qris=GOPAY_STATIC,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _valid(request: MerchantRequest) -> object:
    return validate(request, status=MerchantStatus.ACTIVE, by="t", now_us=0)


def _code(request: MerchantRequest) -> str:
    with pytest.raises(MerchantRefused) as refused:
        _valid(request)
    assert refused.value.code in REFUSALS
    return refused.value.code


def test_the_nmid_is_taken_from_the_static_payload() -> None:
    merchant = validate(_request(), status=MerchantStatus.ACTIVE, by="t", now_us=0)
    assert merchant.nmid == GOPAY_NMID
    assert merchant.settles(Tender.QRIS) == "IDR"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"static_qris": None}, "merchant_qris_required"),
        ({"static_qris": GOPAY_STATIC[:-1] + "0"}, "merchant_qris_invalid"),
        ({"static_qris": "not a payload"}, "merchant_qris_invalid"),
        ({"nmid": "ID0000000000001"}, "merchant_qris_invalid"),
        ({"static_qris": static_qris("ID1") + "x" * 600}, "merchant_qris_invalid"),
        ({"tenders": frozenset()}, "merchant_invalid"),
        ({"id": "UM 001"}, "merchant_invalid"),
        ({"criteria": "BIG"}, "merchant_invalid"),
        ({"rt": ""}, "merchant_invalid"),
        ({"nmid": "ID-1"}, "merchant_invalid"),
        ({"settlement": {Tender.QRIS: "PI"}}, "merchant_invalid"),
        ({"settlement": {Tender.MSC: "MSC"}}, "merchant_invalid"),
    ],
    ids=repr,
)
def test_bad_fields_are_refused_with_their_code(changes: dict[str, object], code: str) -> None:
    assert _code(_request(**changes)) == code


def test_a_merchant_without_qris_needs_no_payload() -> None:
    merchant = validate(
        _request(tenders=frozenset({Tender.PI}), static_qris=None, nmid=None),
        status=MerchantStatus.ACTIVE,
        by="t",
        now_us=0,
    )
    assert merchant.nmid is None
    assert dict(merchant.settlement) == {Tender.PI: "PI"}


@st.composite
def choices(draw: st.DrawFn) -> tuple[frozenset[Tender], dict[Tender, str]]:
    tenders = draw(st.frozensets(st.sampled_from(list(Tender)), min_size=1))
    chosen = {
        tender: draw(st.sampled_from(sorted(SETTLEMENT_CHOICES[tender])))
        for tender in draw(st.frozensets(st.sampled_from(sorted(tenders))))
    }
    return tenders, chosen


@given(choices())
def test_every_accepted_tender_settles_in_an_allowed_asset(
    picked: tuple[frozenset[Tender], dict[Tender, str]],
) -> None:
    tenders, chosen = picked
    merchant = validate(
        _request(tenders=tenders, settlement=chosen),
        status=MerchantStatus.ACTIVE,
        by="t",
        now_us=0,
    )
    assert set(merchant.settlement) == set(tenders)
    for tender in tenders:
        assert merchant.settles(tender) == chosen.get(tender, TENDER_ASSET[tender])
        assert merchant.settles(tender) in SETTLEMENT_CHOICES[tender]


def test_the_same_fields_are_the_same_merchant_whatever_the_status() -> None:
    one = validate(_request(), status=MerchantStatus.ACTIVE, by="a", now_us=1)
    other = validate(_request(), status=MerchantStatus.SUSPENDED, by="b", now_us=2)
    assert one.same_fields(other)
    renamed = validate(
        _request(name="Pecel Pak Tin"), status=MerchantStatus.ACTIVE, by="a", now_us=1
    )
    assert not one.same_fields(renamed)
