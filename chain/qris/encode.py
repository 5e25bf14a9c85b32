"""Strict QRIS generator: printable ASCII, every limit enforced, canonical order."""

from itertools import pairwise

from chain.qris.amount import is_percentage, parse_amount_sen
from chain.qris.crc import crc16_ccitt_false, format_crc
from chain.qris.errors import QrisEncodeError
from chain.qris.model import (
    ACCOUNT_CHARS_MAX,
    ADDITIONAL_CHARS_MAX,
    ADDITIONAL_FIELDS,
    COUNTRY_ID,
    CURRENCY_IDR,
    MERCHANT_CRITERIA,
    PAYLOAD_CHARS_MAX,
    POINT_OF_INITIATION_DYNAMIC,
    POINT_OF_INITIATION_STATIC,
    TIP_FIXED,
    TIP_PERCENTAGE,
    TIP_PROMPT,
    TOP_LEVEL_CHARS_MAX,
    VALUE_CHARS_MAX,
    AdditionalData,
    MerchantAccount,
    Payload,
    Tlv,
)
from chain.qris.tlv import join_fields

_ACCOUNT_TAG_MIN, _ACCOUNT_TAG_MAX = 26, 51
# Tags the model carries as named fields; "unknown" fields may use none of them.
_MODELLED_TAGS = frozenset(
    {"00", "01", "52", "53", "54", "55", "56", "57", "58", "59", "60", "61", "62", "63"}
    | {str(n) for n in range(_ACCOUNT_TAG_MIN, _ACCOUNT_TAG_MAX + 1)}
)
_CONSUMER_DATA_LETTERS = frozenset("AME")


def encode(payload: Payload) -> str:
    """Generate the payload text with its CRC, or raise QrisEncodeError naming the field."""
    _check_header(payload)
    fields = _simple(payload) + _tip(payload) + _accounts(payload.merchant_accounts)
    if payload.additional is not None:
        fields.append(("62", _value("62", _additional(payload.additional), VALUE_CHARS_MAX)))
    for extra in payload.unknown:
        tag = extra.tag
        if tag in _MODELLED_TAGS or len(tag) != 2 or not (tag.isdigit() and tag.isascii()):
            raise QrisEncodeError("unknown field must use a free two-digit tag", tag=tag)
        fields.append((tag, _value(tag, extra.value, VALUE_CHARS_MAX)))
    fields.sort(key=lambda item: item[0])
    for (tag, _), (next_tag, _) in pairwise(fields):
        if tag == next_tag:
            raise QrisEncodeError("tag appears twice", tag=tag)
    body = join_fields(fields) + "6304"
    text = body + format_crc(crc16_ccitt_false(body))
    if len(text) > PAYLOAD_CHARS_MAX:
        raise QrisEncodeError(f"{len(text)} characters, max {PAYLOAD_CHARS_MAX}")
    return text


def _check_header(p: Payload) -> None:
    if p.payload_format != "01":
        raise QrisEncodeError(f"payload format must be '01', got {p.payload_format!r}", tag="00")
    if p.initiation not in (POINT_OF_INITIATION_STATIC, POINT_OF_INITIATION_DYNAMIC):
        raise QrisEncodeError(f"point of initiation must be 11 or 12: {p.initiation!r}", tag="01")
    if p.currency != CURRENCY_IDR:
        raise QrisEncodeError(f"currency must be {CURRENCY_IDR}, got {p.currency!r}", tag="53")
    if p.country != COUNTRY_ID:
        raise QrisEncodeError(f"country must be {COUNTRY_ID}, got {p.country!r}", tag="58")
    if p.mcc is None or len(p.mcc) != 4 or not (p.mcc.isdigit() and p.mcc.isascii()):
        raise QrisEncodeError(f"MCC must be four digits, got {p.mcc!r}", tag="52")
    if not p.merchant_accounts:
        raise QrisEncodeError("at least one merchant account template (26-51) is required")
    if p.amount is not None and parse_amount_sen(p.amount) is None:
        raise QrisEncodeError(f"amount {p.amount!r} is not a positive IDR amount", tag="54")
    if p.initiation == POINT_OF_INITIATION_DYNAMIC and p.amount is None:
        raise QrisEncodeError("a dynamic payload must carry its amount", tag="54")
    if p.merchant_name is None or p.merchant_city is None:
        raise QrisEncodeError("merchant name (59) and city (60) are mandatory", tag="59")


def _simple(p: Payload) -> list[tuple[str, str]]:
    simple = (("00", p.payload_format), ("01", p.initiation), ("52", p.mcc), ("53", p.currency),
              ("54", p.amount), ("58", p.country), ("59", p.merchant_name),
              ("60", p.merchant_city), ("61", p.postal_code))  # fmt: skip
    return [
        (tag, _value(tag, value, TOP_LEVEL_CHARS_MAX[tag]))
        for tag, value in simple
        if value is not None
    ]


def _value(tag: str, value: str, limit: int) -> str:
    """Return ``value`` if it is 1..limit printable ASCII characters, else raise."""
    if not value:
        raise QrisEncodeError("empty value", tag=tag)
    if len(value) > limit:
        raise QrisEncodeError(f"{len(value)} characters, max {limit}", tag=tag)
    if not (value.isascii() and value.isprintable()):
        raise QrisEncodeError("value must be printable ASCII", tag=tag)
    return value


def _tip(p: Payload) -> list[tuple[str, str]]:
    indicator, fixed, percentage = p.tip_indicator, p.tip_fixed, p.tip_percentage
    if indicator is None:
        if fixed is not None or percentage is not None:
            raise QrisEncodeError("fee value without a tip indicator", tag="55")
        return []
    if indicator == TIP_PROMPT:
        if fixed is not None or percentage is not None:
            raise QrisEncodeError("tip indicator 01 carries no fee value", tag="55")
        return [("55", indicator)]
    if indicator == TIP_FIXED:
        if fixed is None or parse_amount_sen(fixed) is None or percentage is not None:
            raise QrisEncodeError(f"fixed fee {fixed!r} must be an amount, alone", tag="56")
        return [("55", indicator), ("56", fixed)]
    if indicator == TIP_PERCENTAGE:
        if percentage is None or not is_percentage(percentage) or fixed is not None:
            raise QrisEncodeError(f"percentage {percentage!r} must be 0.01-99.99, alone", tag="57")
        return [("55", indicator), ("57", percentage)]
    raise QrisEncodeError(f"tip indicator must be 01, 02 or 03, got {indicator!r}", tag="55")


def _accounts(accounts: tuple[MerchantAccount, ...]) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    for account in accounts:
        tag = account.tag
        if not (
            tag.isdigit() and tag.isascii() and _ACCOUNT_TAG_MIN <= int(tag) <= _ACCOUNT_TAG_MAX
        ):
            raise QrisEncodeError("merchant account tag must be in 26-51", tag=tag)
        if account.guid is None:
            raise QrisEncodeError("globally unique identifier (00) is required", tag=tag)
        if account.pan is not None and not (account.pan.isdigit() and account.pan.isascii()):
            raise QrisEncodeError("merchant PAN must be digits", tag=f"{tag}.01")
        if account.criteria is not None and account.criteria not in MERCHANT_CRITERIA:
            raise QrisEncodeError(f"unknown criteria {account.criteria!r}", tag=f"{tag}.03")
        subs = [("00", account.guid), ("01", account.pan), ("02", account.merchant_id),
                ("03", account.criteria)]  # fmt: skip
        pairs = [(sub, _value(f"{tag}.{sub}", value, ACCOUNT_CHARS_MAX[sub]))
                 for sub, value in subs if value is not None]  # fmt: skip
        pairs.extend(_extra(tag, account.extra, frozenset(ACCOUNT_CHARS_MAX)))
        pairs.sort(key=lambda item: item[0])
        fields.append((tag, _value(tag, join_fields(pairs), VALUE_CHARS_MAX)))
    return fields


def _additional(data: AdditionalData) -> str:
    pairs: list[tuple[str, str]] = []
    for sub, name in ADDITIONAL_FIELDS.items():
        value = getattr(data, name)
        if value is not None:
            pairs.append((sub, _value(f"62.{sub}", value, ADDITIONAL_CHARS_MAX[sub])))
    request = data.consumer_data_request
    if request is not None and (
        not _CONSUMER_DATA_LETTERS.issuperset(request) or len(set(request)) != len(request)
    ):
        raise QrisEncodeError(f"consumer data request {request!r} is not of A, M, E", tag="62.09")
    for sub, value in _extra("62", data.extra, frozenset(ADDITIONAL_FIELDS)):
        if "12" <= sub <= "49":
            raise QrisEncodeError("reserved sub-tag", tag=f"62.{sub}")
        pairs.append((sub, value))
    pairs.sort(key=lambda item: item[0])
    return join_fields(pairs)


def _extra(tag: str, extra: tuple[Tlv, ...], modelled: frozenset[str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in extra:
        sub = item.tag
        if sub in modelled or sub in seen or len(sub) != 2 or not (sub.isdigit() and sub.isascii()):
            raise QrisEncodeError(f"sub-tag {sub!r} repeats, clashes or is not two digits", tag=tag)
        seen.add(sub)
        pairs.append((sub, _value(f"{tag}.{sub}", item.value, VALUE_CHARS_MAX)))
    return pairs
