"""Typed model of an EMVCo merchant-presented QR payload with the QRIS profile."""

from dataclasses import dataclass, field

POINT_OF_INITIATION_STATIC = "11"
POINT_OF_INITIATION_DYNAMIC = "12"
QRIS_NATIONAL_TAG = "51"
QRIS_NATIONAL_GUID = "ID.CO.QRIS.WWW"
CURRENCY_IDR = "360"
COUNTRY_ID = "ID"
MERCHANT_CRITERIA = frozenset({"UMI", "UKE", "UME", "UBE", "URE"})

TIP_PROMPT = "01"
TIP_FIXED = "02"
TIP_PERCENTAGE = "03"

PAYLOAD_CHARS_MAX = 512
VALUE_CHARS_MAX = 99
AMOUNT_CHARS_MAX = 13

# EMVCo MPM maximum value lengths (characters) of the primitive top-level fields.
TOP_LEVEL_CHARS_MAX: dict[str, int] = {
    "00": 2,
    "01": 2,
    "52": 4,
    "53": 3,
    "54": AMOUNT_CHARS_MAX,
    "55": 2,
    "56": AMOUNT_CHARS_MAX,
    "57": 5,
    "58": 2,
    "59": 25,
    "60": 15,
    "61": 10,
}
# Merchant account template sub-fields as QRIS uses them.
ACCOUNT_CHARS_MAX: dict[str, int] = {"00": 32, "01": 19, "02": 15, "03": 3}
# Additional data (tag 62) sub-fields 01-08 are at most 25 characters, 09 at most 3.
ADDITIONAL_CHARS_MAX: dict[str, int] = {f"{n:02d}": 25 for n in range(1, 9)} | {"09": 3}


@dataclass(frozen=True, slots=True)
class Tlv:
    """A tag and its value kept verbatim (unknown or provider-specific fields)."""

    tag: str
    value: str


@dataclass(frozen=True, slots=True)
class Deviation:
    """One departure from the specification that the lenient parser accepted."""

    code: str
    tag: str | None
    position: int
    message: str


@dataclass(frozen=True, slots=True)
class MerchantAccount:
    """A merchant account template (26-51): who receives the money, per network."""

    tag: str
    guid: str | None = None
    pan: str | None = None
    merchant_id: str | None = None
    criteria: str | None = None
    extra: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class AdditionalData:
    """Tag 62: bill number, reference label and the other reconciliation hints."""

    bill_number: str | None = None
    mobile_number: str | None = None
    store_label: str | None = None
    loyalty_number: str | None = None
    reference_label: str | None = None
    customer_label: str | None = None
    terminal_label: str | None = None
    purpose: str | None = None
    consumer_data_request: str | None = None
    extra: tuple[Tlv, ...] = ()


ADDITIONAL_FIELDS: dict[str, str] = {
    "01": "bill_number",
    "02": "mobile_number",
    "03": "store_label",
    "04": "loyalty_number",
    "05": "reference_label",
    "06": "customer_label",
    "07": "terminal_label",
    "08": "purpose",
    "09": "consumer_data_request",
}


@dataclass(frozen=True, slots=True)
class Payload:
    """A decoded (or to-be-encoded) QRIS payload; amounts stay as their exact text."""

    initiation: str | None
    merchant_accounts: tuple[MerchantAccount, ...]
    mcc: str | None
    currency: str | None
    country: str | None
    merchant_name: str | None
    merchant_city: str | None
    payload_format: str = "01"
    amount: str | None = None
    tip_indicator: str | None = None
    tip_fixed: str | None = None
    tip_percentage: str | None = None
    postal_code: str | None = None
    additional: AdditionalData | None = None
    unknown: tuple[Tlv, ...] = ()
    crc: str | None = field(default=None, compare=False)
    deviations: tuple[Deviation, ...] = field(default=(), compare=False)

    @property
    def is_dynamic(self) -> bool:
        """Dynamic payloads are single-use and carry the amount to pay."""
        return self.initiation == POINT_OF_INITIATION_DYNAMIC

    @property
    def national(self) -> MerchantAccount | None:
        """The national repository template (51), which carries the NMID."""
        for account in self.merchant_accounts:
            if account.tag == QRIS_NATIONAL_TAG:
                return account
        return None

    @property
    def nmid(self) -> str | None:
        """National merchant id: the key for matching static QRIS payments."""
        national = self.national
        return national.merchant_id if national is not None else None

    @property
    def criteria(self) -> str | None:
        """Merchant criteria (UMI/UKE/...), which selects the MDR."""
        national = self.national
        if national is not None and national.criteria is not None:
            return national.criteria
        for account in self.merchant_accounts:
            if account.criteria is not None:
                return account.criteria
        return None
