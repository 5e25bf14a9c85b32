"""Lenient QRIS decoder: structure and CRC are strict, spec deviations become warnings."""

from collections.abc import Callable
from typing import Any

from chain.qris.amount import is_percentage, parse_amount_sen
from chain.qris.crc import crc16_ccitt_false, format_crc
from chain.qris.errors import QrisDecodeError
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
    QRIS_NATIONAL_GUID,
    QRIS_NATIONAL_TAG,
    TOP_LEVEL_CHARS_MAX,
    AdditionalData,
    Deviation,
    MerchantAccount,
    Payload,
    Tlv,
)
from chain.qris.tlv import Field, split_fields

# Far above any real payload; bounds the work an attacker can ask of the parser.
DECODE_CHARS_MAX = 4096
_CRC_FIELD_CHARS = 8  # "6304" + four hex digits
_UPPER_HEX = frozenset("0123456789ABCDEF")
_ACCOUNT_TAGS = frozenset(str(n) for n in range(26, 52))
_MANDATORY = (("52", "mcc"), ("53", "currency"), ("58", "country"), ("59", "merchant name"),
              ("60", "merchant city"))  # fmt: skip
_SIMPLE = {"00": "payload_format", "01": "initiation", "52": "mcc", "53": "currency",
           "54": "amount", "55": "tip_indicator", "56": "tip_fixed", "57": "tip_percentage",
           "58": "country", "59": "merchant_name", "60": "merchant_city",
           "61": "postal_code"}  # fmt: skip


def decode(text: str) -> Payload:
    """Decode a payload; raise QrisDecodeError when it cannot be read safely."""
    body_end = _check_frame(text)
    fields = split_fields(text, 0, body_end, None)
    if not fields or fields[0][0] != "00":
        raise QrisDecodeError("the payload must start with tag 00", position=0)
    deviations: list[Deviation] = []
    if len(text) > PAYLOAD_CHARS_MAX:
        message = f"{len(text)} characters, max {PAYLOAD_CHARS_MAX}"
        deviations.append(Deviation("too_long", None, 0, message))
    values: dict[str, Any] = dict.fromkeys(_PAYLOAD_KEYS)
    accounts: list[MerchantAccount] = []
    unknown: list[Tlv] = []
    positions = _positions(fields, deviations, text.isprintable())
    simple_limits = _SIMPLE_LIMITS
    for tag, value, pos in fields:
        simple = simple_limits.get(tag)
        if simple is not None:
            name, limit = simple
            values[name] = value
            if len(value) > limit:
                message = f"{len(value)} characters, max {limit}"
                deviations.append(Deviation("length", tag, pos, message))
        elif tag in _ACCOUNT_TAGS:
            accounts.append(_account(text, tag, value, pos, deviations))
        elif tag == "62":
            values["additional"] = _additional(text, value, pos, deviations)
        else:
            unknown.append(Tlv(tag, value))
    _check_semantics(values, accounts, positions, deviations)
    return Payload(
        merchant_accounts=tuple(accounts),
        unknown=tuple(unknown),
        crc=text[-4:],
        deviations=tuple(deviations),
        **values,
    )


def _positions(fields: list[Field], out: list[Deviation], printable: bool) -> dict[str, int]:
    """Where each tag starts; refuse repeats and an early 63, note order and charset.

    ``printable``: the whole payload is, so no value needs its own charset check.
    """
    positions: dict[str, int] = {}
    previous = ""
    for tag, value, pos in fields:
        if tag in positions:
            raise QrisDecodeError("tag appears twice", tag=tag, position=pos)
        if tag == "63":
            raise QrisDecodeError("tag 63 (CRC) must be the last field", tag=tag, position=pos)
        positions[tag] = pos
        if tag < previous:
            out.append(Deviation("order", tag, pos, f"tag {tag} follows tag {previous}"))
        else:
            previous = tag
        if not value:
            out.append(Deviation("empty", tag, pos, "empty value"))
        elif not printable and not value.isprintable():
            out.append(Deviation("charset", tag, pos, "value contains control characters"))
    return positions


_PAYLOAD_KEYS = (*_SIMPLE.values(), "additional")
_SIMPLE_LIMITS = {tag: (name, TOP_LEVEL_CHARS_MAX[tag]) for tag, name in _SIMPLE.items()}
_Note = Callable[[str, str | None, str], None]


def _check_frame(text: str) -> int:
    """Check type, size, charset and the CRC at its fixed place; return where the body ends."""
    if not isinstance(text, str):
        raise QrisDecodeError(f"payload must be text, got {type(text).__name__}")
    size = len(text)
    if size > DECODE_CHARS_MAX:
        raise QrisDecodeError(f"{size} characters exceeds the decoder limit {DECODE_CHARS_MAX}")
    if size < 4 + _CRC_FIELD_CHARS:
        raise QrisDecodeError(f"{size} characters is too short for a payload", position=0)
    if not text.isascii():
        first = next(i for i, ch in enumerate(text) if not ch.isascii())
        raise QrisDecodeError(f"non-ASCII character {text[first]!r}", position=first)
    crc_at = size - _CRC_FIELD_CHARS
    if text[crc_at : crc_at + 4] != "6304":
        raise QrisDecodeError("payload must end with 6304 and the CRC", tag="63", position=crc_at)
    written = text[-4:]
    if not _UPPER_HEX.issuperset(written):
        raise QrisDecodeError(
            f"CRC {written!r} is not four upper-case hex digits", tag="63", position=size - 4
        )
    computed = crc16_ccitt_false(text[:-4])
    if int(written, 16) != computed:
        raise QrisDecodeError(
            f"CRC mismatch: payload says {written}, content gives {format_crc(computed)}",
            tag="63",
            position=size - 4,
        )
    return crc_at


def _account(text: str, tag: str, value: str, pos: int, out: list[Deviation]) -> MerchantAccount:
    known: dict[str, str] = {}
    extra: list[Tlv] = []
    for sub, sub_value, sub_pos in split_fields(text, pos + 4, pos + 4 + len(value), tag):
        if sub in known or (extra and _repeats(extra, sub)):
            raise QrisDecodeError(f"sub-tag {sub} appears twice", tag=tag, position=sub_pos)
        limit = ACCOUNT_CHARS_MAX.get(sub)
        if limit is None:
            extra.append(Tlv(sub, sub_value))
            continue
        known[sub] = sub_value
        if len(sub_value) > limit:
            out.append(Deviation("length", f"{tag}.{sub}", sub_pos,
                                 f"{len(sub_value)} characters, max {limit}"))  # fmt: skip
    get = known.get
    guid, pan, merchant_id, criteria = get("00"), get("01"), get("02"), get("03")
    if guid is None or "." not in guid:
        out.append(Deviation("guid", f"{tag}.00", pos, f"{guid!r} is not a reverse-domain id"))
    if pan is not None and not pan.isdigit():
        out.append(Deviation("pan", f"{tag}.01", pos, "merchant PAN is not all digits"))
    if criteria is not None and criteria not in MERCHANT_CRITERIA:
        out.append(Deviation("criteria", f"{tag}.03", pos, f"unknown criteria {criteria!r}"))
    if tag == QRIS_NATIONAL_TAG:
        if guid != QRIS_NATIONAL_GUID:
            out.append(Deviation("guid", "51.00", pos, f"national GUID is {guid!r}"))
        nmid = merchant_id
        if nmid is None or len(nmid) != 15 or not nmid.startswith("ID") or not nmid[2:].isdigit():
            out.append(Deviation("nmid", "51.02", pos, f"NMID {nmid!r} is not ID + 13 digits"))
    return MerchantAccount(tag, guid, pan, merchant_id, criteria, tuple(extra))


def _additional(text: str, value: str, pos: int, out: list[Deviation]) -> AdditionalData:
    known: dict[str, str] = {}
    extra: list[Tlv] = []
    for sub, sub_value, sub_pos in split_fields(text, pos + 4, pos + 4 + len(value), "62"):
        name = ADDITIONAL_FIELDS.get(sub)
        if name in known if name else extra and _repeats(extra, sub):
            raise QrisDecodeError(f"sub-tag {sub} appears twice", tag="62", position=sub_pos)
        if name is None:
            extra.append(Tlv(sub, sub_value))
            if "12" <= sub <= "49":
                out.append(Deviation("reserved", f"62.{sub}", sub_pos, "reserved sub-tag"))
            continue
        known[name] = sub_value
        limit = ADDITIONAL_CHARS_MAX[sub]
        if len(sub_value) > limit:
            out.append(Deviation("length", f"62.{sub}", sub_pos,
                                 f"{len(sub_value)} characters, max {limit}"))  # fmt: skip
    return AdditionalData(**known, extra=tuple(extra))


def _repeats(extra: list[Tlv], sub: str) -> bool:
    """Whether an unknown sub-tag was already read (callers refuse repeats as they read)."""
    return any(field.tag == sub for field in extra)


def _check_semantics(
    values: dict[str, Any],
    accounts: list[MerchantAccount],
    positions: dict[str, int],
    out: list[Deviation],
) -> None:
    """Record QRIS-profile deviations that do not stop a reader from using the payload."""

    def note(code: str, tag: str | None, message: str) -> None:
        out.append(Deviation(code, tag, positions.get(tag or "", 0), message))

    get = values.get
    if get("payload_format") != "01":
        note("format", "00", f"payload format {get('payload_format')!r}, expected '01'")
    initiation = get("initiation")
    if initiation not in (POINT_OF_INITIATION_STATIC, POINT_OF_INITIATION_DYNAMIC):
        note("initiation", "01", f"point of initiation {initiation!r}, expected 11 or 12")
    for tag, name in _MANDATORY:
        if tag not in positions:
            note("missing", tag, f"{name} (tag {tag}) is missing")
    if not accounts:
        note("missing", "26", "no merchant account template (26-51)")
    elif QRIS_NATIONAL_TAG not in positions:
        note("missing", "51", "no national QRIS template (51) with the NMID")
    mcc = get("mcc")
    if mcc is not None and not (len(mcc) == 4 and mcc.isdigit()):
        note("mcc", "52", f"MCC {mcc!r} is not four digits")
    if get("currency", CURRENCY_IDR) != CURRENCY_IDR:
        note("currency", "53", f"currency {get('currency')!r}, QRIS uses 360")
    if get("country", COUNTRY_ID) != COUNTRY_ID:
        note("country", "58", f"country {get('country')!r}, QRIS uses ID")
    amount = get("amount")
    if amount is not None and parse_amount_sen(amount) is None:
        note("amount", "54", f"amount {amount!r} is not a positive amount with <= 2 decimals")
    if initiation == POINT_OF_INITIATION_DYNAMIC and amount is None:
        note("amount", "54", "dynamic payload without an amount")
    if "55" in positions or "56" in positions or "57" in positions:
        _check_tip(get("tip_indicator"), get("tip_fixed"), get("tip_percentage"), note)


def _check_tip(
    indicator: str | None, fixed: str | None, percentage: str | None, note: _Note
) -> None:
    if indicator is None:
        if fixed is not None or percentage is not None:
            note("tip", "55", "fee value (56/57) without a tip indicator (55)")
        return
    if indicator == "02" and (fixed is None or parse_amount_sen(fixed) is None):
        note("tip", "56", f"fixed fee {fixed!r} missing or malformed")
    elif indicator == "03" and not is_percentage(percentage):
        note("tip", "57", f"percentage fee {percentage!r} missing or malformed")
    elif indicator not in ("01", "02", "03"):
        note("tip", "55", f"tip indicator {indicator!r} is not 01, 02 or 03")
