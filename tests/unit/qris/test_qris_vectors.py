"""Real public QRIS payloads (tests/fixtures/qris) decode to what their sources document."""

import json
from pathlib import Path
from typing import Any

import pytest

from chain.qris.amount import parse_amount_sen
from chain.qris.payload import QrisDecodeError, decode, encode

FIXTURES = Path(__file__).parents[2] / "fixtures" / "qris" / "vectors.json"
VECTORS: dict[str, dict[str, Any]] = {
    v["id"]: v for v in json.loads(FIXTURES.read_text(encoding="utf-8"))["vectors"]
}

# Expected values read off the source payloads by hand: (dynamic, NMID, criteria, amount in sen).
EXPECTED = {
    "gopay-static": (False, "ID1019000002328", "UMI", None),
    "shopeepay-static": (False, "ID2019002291555", "UBE", None),
    "bsi-static": (False, "ID1022175375800", "URE", None),
    "example-static-no-criteria": (False, "ID1019123456781", "UMI", None),
    "example-static-no-national": (False, None, "UMI", None),
    "example-static-with-amount": (False, "ID1019123456781", "UMI", 3_400_000),
    "ovo-dynamic-tip-percentage": (True, "ID1020041698835", "UKE", 50_000_000),
    "ovo-dynamic-tip-fixed": (True, "ID1020041698835", "UKE", 10_000_000),
    "ovo-dynamic": (True, "ID1020041698835", "UKE", 50_000_000),
    "ovo-dynamic-tip-prompt": (True, "ID1020041698835", "UKE", 10_000_000),
    "dana-static-no-additional": (False, "ID1019004699079", "UMI", None),
    "astrapay-dynamic-bill": (True, "ID2021071980399", "UBE", 454_805_100),
    "spinpay-static": (False, "ID1020038431489", "UMI", None),
    "doku-dynamic-tip-fixed": (True, "ID1020039293482", "URE", 100_000),
    "bank-dynamic-bill-reference": (True, None, "UKE", 4_950_000),
    "linkaja-dynamic-noncanonical": (True, "000000000000000", "UBE", 30_000_000),
    "doku-static": (False, "ID1020039293482", "URE", None),
    "example2-static-tip-prompt": (False, None, "UMI", None),
    "shopee-dynamic-no-national": (True, None, None, 14_400_000),
}


def test_every_valid_vector_has_an_expectation() -> None:
    valid = {key for key, v in VECTORS.items() if v["expect"] == "valid"}
    assert valid == set(EXPECTED)
    assert len({v["source"]["repo"] for v in VECTORS.values()}) >= 5


@pytest.mark.parametrize("vector_id", sorted(EXPECTED))
def test_vector_decodes_to_documented_fields(vector_id: str) -> None:
    dynamic, nmid, criteria, amount_sen = EXPECTED[vector_id]
    payload = decode(VECTORS[vector_id]["payload"])
    assert payload.is_dynamic is dynamic
    assert payload.nmid == nmid
    assert payload.criteria == criteria
    assert (parse_amount_sen(payload.amount) if payload.amount else None) == amount_sen


@pytest.mark.parametrize(
    "vector_id", sorted(k for k, v in VECTORS.items() if v["expect"] != "valid")
)
def test_vectors_with_stale_crc_are_refused_naming_tag_63(vector_id: str) -> None:
    text = VECTORS[vector_id]["payload"]
    with pytest.raises(QrisDecodeError) as raised:
        decode(text)
    assert raised.value.tag == "63"
    assert raised.value.position == len(text) - 4


def test_canonical_vectors_re_encode_byte_for_byte() -> None:
    encodable = [
        k
        for k in EXPECTED
        if k not in {"linkaja-dynamic-noncanonical", "shopee-dynamic-no-national"}
    ]
    for vector_id in encodable:
        text = VECTORS[vector_id]["payload"]
        assert encode(decode(text)) == text, vector_id


def test_astrapay_dynamic_bill_and_terminal() -> None:
    additional = decode(VECTORS["astrapay-dynamic-bill"]["payload"]).additional
    assert additional is not None
    assert additional.bill_number == "211005010777015"
    assert additional.terminal_label == "ASTRAPAY2105021"
    assert [(t.tag, t.value) for t in additional.extra] == [("98", "020921000045503011")]


def test_bank_dynamic_bill_and_reference() -> None:
    additional = decode(VECTORS["bank-dynamic-bill-reference"]["payload"]).additional
    assert additional is not None
    assert additional.bill_number == "110932"
    assert additional.reference_label == "110013110932"
    assert additional.terminal_label == "AG205211"


def test_tip_fields_of_ovo_and_doku() -> None:
    percentage = decode(VECTORS["ovo-dynamic-tip-percentage"]["payload"])
    assert (percentage.tip_indicator, percentage.tip_percentage) == ("03", "0.7")
    fixed = decode(VECTORS["doku-dynamic-tip-fixed"]["payload"])
    assert (fixed.tip_indicator, fixed.tip_fixed) == ("02", "500")


def test_noncanonical_order_is_a_warning_and_encode_canonicalises() -> None:
    payload = decode(VECTORS["linkaja-dynamic-noncanonical"]["payload"])
    assert {d.tag for d in payload.deviations if d.code == "order"} == {"53", "54", "55"}
    again = decode(encode(payload))
    assert again == payload
    assert not [d for d in again.deviations if d.code == "order"]


def test_missing_mcc_is_a_warning_but_blocks_generation() -> None:
    payload = decode(VECTORS["shopee-dynamic-no-national"]["payload"])
    assert {(d.code, d.tag) for d in payload.deviations} >= {("missing", "52"), ("missing", "51")}
    assert payload.additional is not None
    assert payload.additional.purpose == "gen by go-qris"
