"""QRIS codec: CRC, strict generation, lenient parsing, static-to-dynamic, corruption."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chain.qris.amount import format_amount, is_percentage, parse_amount_sen
from chain.qris.crc import crc16_ccitt_false, format_crc
from chain.qris.model import PAYLOAD_CHARS_MAX, Payload
from chain.qris.payload import (
    QrisDecodeError,
    QrisEncodeError,
    QrisError,
    as_dict,
    decode,
    encode,
    to_dynamic,
)
from chain.qris.tlv import join_fields
from tests.unit.qris.strategies import payloads

FIXTURES = Path(__file__).parents[2] / "fixtures" / "qris" / "vectors.json"
VALID = [
    v["payload"] for v in json.loads(FIXTURES.read_text())["vectors"] if v["expect"] == "valid"
]
GOPAY = VALID[0]
PRINTABLE_ASCII = [chr(c) for c in range(0x20, 0x7F)]


def with_crc(body: str) -> str:
    """Append tag 63 to hand-built TLV text, the way a (possibly sloppy) generator would."""
    head = body + "6304"
    return head + format_crc(crc16_ccitt_false(head))


def fields(*pairs: tuple[str, str]) -> str:
    return join_fields(list(pairs))


BASE = (
    ("00", "01"),
    ("01", "11"),
    ("26", fields(("00", "ID.CO.TEST.WWW"), ("01", "9360000012345678"))),
    ("51", fields(("00", "ID.CO.QRIS.WWW"), ("02", "ID1020000000001"), ("03", "UMI"))),
    ("52", "5812"),
    ("53", "360"),
    ("58", "ID"),
    ("59", "WARUNG"),
    ("60", "MADIUN"),
)


def test_crc_is_ccitt_false_check_value() -> None:
    assert format_crc(crc16_ccitt_false("123456789")) == "29B1"


def test_crc_is_zero_padded_upper_case() -> None:
    assert format_crc(0x0A) == "000A"
    for text in VALID:
        assert text[-4:] == format_crc(crc16_ccitt_false(text[:-4]))


@pytest.mark.parametrize("text", VALID[:6])
def test_every_single_character_corruption_of_a_vector_is_refused(text: str) -> None:
    for position, original in enumerate(text):
        for replacement in [*PRINTABLE_ASCII, "é", "\n", "\x00"]:
            if replacement == original:
                continue
            corrupted = text[:position] + replacement + text[position + 1 :]
            with pytest.raises(QrisDecodeError):
                decode(corrupted)


@given(payloads(), st.data())
def test_round_trip_of_generated_payloads(model: Payload, data: st.DataObject) -> None:
    try:
        text = encode(model)
    except QrisEncodeError as error:  # only the total size may push a valid model over
        assume("max 512" not in str(error))
        raise
    decoded = decode(text)
    assert decoded == model
    assert encode(decoded) == text
    assert decoded.crc == text[-4:]
    assert decoded.deviations == ()
    position = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(st.sampled_from(PRINTABLE_ASCII).filter(lambda c: c != text[position]))
    with pytest.raises(QrisDecodeError):
        decode(text[:position] + replacement + text[position + 1 :])


def test_crc_is_read_at_its_fixed_position_not_searched() -> None:
    # "6304" inside a value must not be taken for the CRC field.
    text = with_crc(join_fields([*BASE[:7], ("59", "TOKO 6304ABCD"), ("60", "MADIUN")]))
    assert decode(text).merchant_name == "TOKO 6304ABCD"
    with pytest.raises(QrisDecodeError) as raised:
        decode(text[:-8] + "6305" + text[-4:])
    assert (raised.value.tag, raised.value.position) == ("63", len(text) - 8)


def test_lower_case_crc_is_refused() -> None:
    assert GOPAY.endswith("4C6B")
    with pytest.raises(QrisDecodeError, match="upper-case"):
        decode(GOPAY[:-4] + "4c6b")


def test_error_names_tag_and_position_of_a_length_overrun() -> None:
    body = join_fields(list(BASE[:7])) + "5920WARUNG"
    text = with_crc(body)
    with pytest.raises(QrisDecodeError) as raised:
        decode(text)
    assert raised.value.tag == "59"
    assert raised.value.position == len(body) - len("5920WARUNG")
    assert "tag 59" in str(raised.value)


def test_error_names_position_of_a_non_numeric_tag() -> None:
    body = join_fields(list(BASE)) + "6A02ID"
    with pytest.raises(QrisDecodeError) as raised:
        decode(with_crc(body))
    assert raised.value.position == len(body) - 6


def test_duplicate_tag_is_refused() -> None:
    with pytest.raises(QrisDecodeError, match="twice") as raised:
        decode(with_crc(join_fields([*BASE, ("54", "1000"), ("54", "2000")])))
    assert raised.value.tag == "54"


def test_payload_must_start_with_tag_00() -> None:
    with pytest.raises(QrisDecodeError, match="tag 00"):
        decode(with_crc(join_fields([BASE[1], BASE[0], *BASE[2:]])))


def test_long_merchant_name_is_read_with_a_warning_but_not_generated() -> None:
    name = "PECEL BU TIN WARUNG MAKAN MADIUN"
    payload = decode(with_crc(join_fields([*BASE[:7], ("59", name), ("60", "MADIUN")])))
    assert payload.merchant_name == name
    assert [(d.code, d.tag) for d in payload.deviations] == [("length", "59")]
    with pytest.raises(QrisEncodeError) as raised:
        encode(payload)
    assert raised.value.tag == "59"


@pytest.mark.parametrize(
    ("extra", "code", "tag"),
    [
        (("54", "0"), "amount", "54"),
        (("54", "1.2.3"), "amount", "54"),
        (("54", "10.001"), "amount", "54"),
        (("55", "02"), "tip", "56"),
        (("57", "5"), "tip", "55"),
        (("61", "\x01"), "charset", "61"),
    ],
)
def test_semantic_deviations_are_warnings(extra: tuple[str, str], code: str, tag: str) -> None:
    payload = decode(with_crc(join_fields([*BASE, extra])))
    assert (code, tag) in {(d.code, d.tag) for d in payload.deviations}


def test_dynamic_without_amount_and_foreign_currency_are_warnings() -> None:
    pairs = [BASE[0], ("01", "12"), *BASE[2:5], ("53", "702"), *BASE[6:]]
    codes = {d.code for d in decode(with_crc(join_fields(pairs))).deviations}
    assert {"amount", "currency"} <= codes


def test_oversized_input_and_non_text_are_codec_errors() -> None:
    with pytest.raises(QrisDecodeError):
        decode("0" * 5000)
    with pytest.raises(QrisDecodeError):
        decode(b"000201" * 4)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "tag"),
    [
        ({"initiation": "13"}, "01"),
        ({"currency": "702"}, "53"),
        ({"country": "SG"}, "58"),
        ({"mcc": "58A2"}, "52"),
        ({"merchant_name": "Caf\u00e9"}, "59"),
        ({"merchant_city": ""}, "60"),
        ({"amount": "0"}, "54"),
        ({"amount": "12345678901234"}, "54"),
        ({"tip_indicator": "02"}, "56"),
        ({"tip_fixed": "100"}, "55"),
        ({"tip_indicator": "03", "tip_percentage": "100"}, "57"),
        ({"merchant_accounts": ()}, None),
    ],
)
def test_encode_is_strict(change: dict[str, object], tag: str | None) -> None:
    payload = replace(decode(with_crc(join_fields(list(BASE)))), **change)  # type: ignore[arg-type]
    with pytest.raises(QrisEncodeError) as raised:
        encode(payload)
    assert raised.value.tag == tag


def test_encode_refuses_more_than_512_characters() -> None:
    payload = decode(GOPAY)
    extra = tuple(
        replace(a, tag=t)
        for a in payload.merchant_accounts[:1]
        for t in ("27", "28", "29", "30", "31", "32")
    )
    with pytest.raises(QrisEncodeError, match=str(PAYLOAD_CHARS_MAX)):
        encode(replace(payload, merchant_accounts=payload.merchant_accounts + extra))


def test_to_dynamic_rebuilds_the_tlv() -> None:
    conversion = to_dynamic(GOPAY, 1_500_000, bill_number="CHK-0001", reference_label="LEG-1")
    dynamic = decode(conversion.payload)
    static = decode(GOPAY)
    assert conversion.deviations == ()
    assert dynamic.is_dynamic
    assert not static.is_dynamic
    assert dynamic.amount == "15000"
    assert dynamic.nmid == static.nmid
    assert dynamic.merchant_accounts == static.merchant_accounts
    assert dynamic.additional is not None
    assert static.additional is not None
    assert dynamic.additional.bill_number == "CHK-0001"
    assert dynamic.additional.reference_label == "LEG-1"
    assert dynamic.additional.terminal_label == static.additional.terminal_label
    assert dynamic.deviations == ()


def test_to_dynamic_with_fees_and_sen() -> None:
    fixed = decode(to_dynamic(GOPAY, 1_000_050, fee_fixed_sen=150_000).payload)
    assert (fixed.amount, fixed.tip_indicator, fixed.tip_fixed) == ("10000.50", "02", "1500")
    percent = decode(to_dynamic(GOPAY, 1_000_000, fee_percentage="0.7").payload)
    assert (percent.tip_indicator, percent.tip_percentage, percent.tip_fixed) == ("03", "0.7", None)
    with pytest.raises(QrisEncodeError):
        to_dynamic(GOPAY, 100, fee_fixed_sen=1, fee_percentage="1")


def test_to_dynamic_cuts_an_overlong_name_and_says_so() -> None:
    name = "PECEL BU TIN WARUNG MAKAN MADIUN"
    static = with_crc(join_fields([*BASE[:7], ("59", name), ("60", "MADIUN")]))
    conversion = to_dynamic(static, 100)
    assert decode(conversion.payload).merchant_name == name[:25]
    assert [(d.code, d.tag) for d in conversion.deviations] == [("truncated", "59")]


@pytest.mark.parametrize("bad", [0, -1, True, 10**15])
def test_to_dynamic_refuses_bad_amounts(bad: int) -> None:
    with pytest.raises(QrisEncodeError):
        to_dynamic(GOPAY, bad)


@given(st.integers(1, 10**12 - 1))
def test_amount_text_round_trips(sen: int) -> None:
    assert parse_amount_sen(format_amount(sen)) == sen


@pytest.mark.parametrize(
    ("text", "sen"),
    [("15000", 1_500_000), ("15000.5", 1_500_050), ("0.01", 1), ("1.", None), ("", None),
     (".5", None), ("1e3", None), ("0.00", None), ("١٢", None), ("12345678901234", None)],
)  # fmt: skip
def test_amount_parsing(text: str, sen: int | None) -> None:
    assert parse_amount_sen(text) == sen


@pytest.mark.parametrize(
    ("text", "ok"), [("0.7", True), ("99.99", True), ("100", False), ("0", False), ("1.234", False)]
)
def test_percentage(text: str, ok: bool) -> None:
    assert is_percentage(text) is ok


def test_as_dict_is_json_ready() -> None:
    view = as_dict(decode(VALID[-1]))
    assert json.loads(json.dumps(view)) == view
    assert view["amount_sen"] == 14_400_000
    assert {w["tag"] for w in view["warnings"]} >= {"51", "52"}


def test_errors_are_value_errors() -> None:
    assert issubclass(QrisError, ValueError)
    assert issubclass(QrisDecodeError, QrisError)
    assert issubclass(QrisEncodeError, QrisError)
