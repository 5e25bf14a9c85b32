"""QRIS payload codec: lenient decode, strict encode, static-to-dynamic by rebuilding the TLV."""

from dataclasses import dataclass, replace
from typing import Any

from chain.qris.amount import format_amount, parse_amount_sen
from chain.qris.decode import decode
from chain.qris.encode import encode
from chain.qris.errors import QrisDecodeError, QrisEncodeError, QrisError
from chain.qris.model import (
    POINT_OF_INITIATION_DYNAMIC,
    TIP_FIXED,
    TIP_PERCENTAGE,
    TOP_LEVEL_CHARS_MAX,
    AdditionalData,
    Deviation,
    MerchantAccount,
    Payload,
    Tlv,
)

__all__ = [
    "Conversion",
    "Deviation",
    "MerchantAccount",
    "Payload",
    "QrisDecodeError",
    "QrisEncodeError",
    "QrisError",
    "Tlv",
    "as_dict",
    "decode",
    "encode",
    "to_dynamic",
]


@dataclass(frozen=True, slots=True)
class Conversion:
    """A generated dynamic payload and what had to be changed beyond the request."""

    payload: str
    deviations: tuple[Deviation, ...]


def to_dynamic(
    static: str,
    amount_sen: int,
    *,
    bill_number: str | None = None,
    reference_label: str | None = None,
    fee_fixed_sen: int | None = None,
    fee_percentage: str | None = None,
) -> Conversion:
    """Turn a merchant's static payload into a single-use dynamic one for ``amount_sen``.

    The TLV is rebuilt from the decoded model (never string replacement), so lengths and the
    CRC are recomputed. Merchant name and city longer than EMVCo allows are cut to the limit
    (acquirers route by PAN/NMID, not by name); every cut is reported.
    """
    if fee_fixed_sen is not None and fee_percentage is not None:
        raise QrisEncodeError("give a fixed fee or a percentage, not both", tag="55")
    source = decode(static)
    notes: list[Deviation] = []
    name = _fit(source.merchant_name, "59", notes)
    city = _fit(source.merchant_city, "60", notes)
    additional = source.additional or AdditionalData()
    if bill_number is not None:
        additional = replace(additional, bill_number=bill_number)
    if reference_label is not None:
        additional = replace(additional, reference_label=reference_label)
    tip = (source.tip_indicator, source.tip_fixed, source.tip_percentage)
    if fee_fixed_sen is not None:
        tip = (TIP_FIXED, format_amount(fee_fixed_sen), None)
    elif fee_percentage is not None:
        tip = (TIP_PERCENTAGE, None, fee_percentage)
    dynamic = replace(
        source,
        initiation=POINT_OF_INITIATION_DYNAMIC,
        amount=format_amount(amount_sen),
        merchant_name=name,
        merchant_city=city,
        additional=additional if additional != AdditionalData() else None,
        crc=None,
        deviations=(),
        tip_indicator=tip[0],
        tip_fixed=tip[1],
        tip_percentage=tip[2],
    )
    return Conversion(encode(dynamic), tuple(notes))


def _fit(value: str | None, tag: str, notes: list[Deviation]) -> str | None:
    limit = TOP_LEVEL_CHARS_MAX[tag]
    if value is None or len(value) <= limit:
        return value
    notes.append(Deviation("truncated", tag, 0, f"cut from {len(value)} to {limit} characters"))
    return value[:limit]


def as_dict(payload: Payload) -> dict[str, Any]:
    """A JSON-ready view for operators: raw fields plus amount in sen, NMID and criteria."""
    additional = payload.additional
    return {
        "payload_format": payload.payload_format,
        "point_of_initiation": payload.initiation,
        "dynamic": payload.is_dynamic,
        "merchant_accounts": [_account_dict(a) for a in payload.merchant_accounts],
        "nmid": payload.nmid,
        "merchant_criteria": payload.criteria,
        "mcc": payload.mcc,
        "currency": payload.currency,
        "amount": payload.amount,
        "amount_sen": parse_amount_sen(payload.amount) if payload.amount is not None else None,
        "tip_indicator": payload.tip_indicator,
        "tip_fixed": payload.tip_fixed,
        "tip_percentage": payload.tip_percentage,
        "country": payload.country,
        "merchant_name": payload.merchant_name,
        "merchant_city": payload.merchant_city,
        "postal_code": payload.postal_code,
        "additional_data": None if additional is None else _additional_dict(additional),
        "unknown": [{"tag": t.tag, "value": t.value} for t in payload.unknown],
        "crc": payload.crc,
        "warnings": [
            {"code": d.code, "tag": d.tag, "position": d.position, "message": d.message}
            for d in payload.deviations
        ],
    }


def _account_dict(account: MerchantAccount) -> dict[str, Any]:
    return {
        "tag": account.tag,
        "guid": account.guid,
        "merchant_pan": account.pan,
        "merchant_id": account.merchant_id,
        "merchant_criteria": account.criteria,
        "extra": [{"tag": t.tag, "value": t.value} for t in account.extra],
    }


def _additional_dict(data: AdditionalData) -> dict[str, Any]:
    view: dict[str, Any] = {
        name: getattr(data, name) for name in AdditionalData.__slots__ if name != "extra"
    }
    view["extra"] = [{"tag": t.tag, "value": t.value} for t in data.extra]
    return view
