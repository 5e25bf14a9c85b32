"""Hypothesis strategies for valid QRIS payload models (the generator's domain)."""

from hypothesis import strategies as st

from chain.qris.amount import format_amount
from chain.qris.model import AdditionalData, MerchantAccount, Payload, Tlv

PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
DIGITS = st.characters(min_codepoint=0x30, max_codepoint=0x39)
CRITERIA = st.sampled_from(["UMI", "UKE", "UME", "UBE", "URE"])


def text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(PRINTABLE, min_size=min_size, max_size=max_size)


def digits(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(DIGITS, min_size=min_size, max_size=max_size)


guids = st.builds(lambda a, b: f"ID.{a}.{b}", text(1, 10), text(1, 10))
nmids = digits(13, 13).map(lambda d: "ID" + d)


@st.composite
def accounts(draw: st.DrawFn, tag: str) -> MerchantAccount:
    return MerchantAccount(
        tag=tag,
        guid=draw(guids),
        pan=draw(st.none() | digits(1, 19)),
        merchant_id=draw(st.none() | text(1, 15)),
        criteria=draw(st.none() | CRITERIA),
        extra=tuple(
            Tlv(sub, value)
            for sub, value in draw(
                st.dictionaries(st.sampled_from(["04", "05", "99"]), text(1, 8), max_size=1)
            ).items()
        ),
    )


national = st.builds(
    lambda nmid, criteria: MerchantAccount("51", "ID.CO.QRIS.WWW", None, nmid, criteria),
    nmids,
    CRITERIA,
)


@st.composite
def additional(draw: st.DrawFn) -> AdditionalData:
    return AdditionalData(
        bill_number=draw(st.none() | text(1, 25)),
        reference_label=draw(st.none() | text(1, 25)),
        terminal_label=draw(st.none() | text(1, 16)),
        consumer_data_request=draw(st.none() | st.sampled_from(["A", "ME", "AME", "EA"])),
    )


@st.composite
def payloads(draw: st.DrawFn) -> Payload:
    """Valid models within every limit (the caller filters by total size)."""
    provider_tags = sorted(
        draw(st.lists(st.sampled_from(["26", "27", "40", "45"]), max_size=2, unique=True))
    )
    tip = draw(st.sampled_from(["none", "01", "02", "03"]))
    initiation = draw(st.sampled_from(["11", "12"]))
    amounts = st.integers(1, 10**12 - 1).map(format_amount)
    return Payload(
        initiation=initiation,
        merchant_accounts=(*tuple(draw(accounts(tag)) for tag in provider_tags), draw(national)),
        mcc=draw(digits(4, 4)),
        currency="360",
        country="ID",
        merchant_name=draw(text(1, 25)),
        merchant_city=draw(text(1, 15)),
        amount=draw(amounts if initiation == "12" else st.none() | amounts),
        tip_indicator=None if tip == "none" else tip,
        tip_fixed=draw(st.integers(1, 10**8).map(format_amount)) if tip == "02" else None,
        tip_percentage=draw(st.sampled_from(["0.7", "5", "99.99", "10.5"]))
        if tip == "03"
        else None,
        postal_code=draw(st.none() | digits(5, 5)),
        additional=draw(st.none() | additional().filter(_additional_fits)),
        unknown=tuple(Tlv("64", v) for v in draw(st.lists(text(1, 20), max_size=1))),
    )


def _additional_fits(data: AdditionalData) -> bool:
    values = [
        data.bill_number,
        data.reference_label,
        data.terminal_label,
        data.consumer_data_request,
    ]
    size = sum(len(v) + 4 for v in values if v is not None)
    return 0 < size <= 99
