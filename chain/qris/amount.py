"""Transaction amounts of QRIS tag 54/56: exact text <-> IDR sen, never float."""

from chain.qris.errors import QrisEncodeError
from chain.qris.model import AMOUNT_CHARS_MAX
from escrow.money import IDR, AmountRefused, parse_amount

SEN_PER_RUPIAH = 10**IDR.scale


def parse_amount_sen(text: str) -> int | None:
    """Sen of a well-formed non-zero amount (digits, one '.' at most, <= 2 decimals), else None.

    Tag 54 allows no exponent, so its text is checked first; the value is ``escrow.money``'s.
    """
    if not text or len(text) > AMOUNT_CHARS_MAX or not text.isascii():
        return None
    whole, dot, frac = text.partition(".")
    if not whole.isdigit() or (dot and not frac.isdigit()):
        return None
    try:
        return parse_amount(text, IDR.scale)
    except AmountRefused:
        return None


def format_amount(sen: int) -> str:
    """The shortest exact text for ``sen``: whole rupiah without decimals, else two decimals."""
    if isinstance(sen, bool) or not isinstance(sen, int) or sen <= 0:
        raise QrisEncodeError(f"amount must be a positive int of sen, got {sen!r}", tag="54")
    rupiah, rest = divmod(sen, SEN_PER_RUPIAH)
    text = str(rupiah) if rest == 0 else f"{rupiah}.{rest:02d}"
    if len(text) > AMOUNT_CHARS_MAX:
        raise QrisEncodeError(f"amount {text} exceeds {AMOUNT_CHARS_MAX} characters", tag="54")
    return text


PERCENTAGE_CHARS_MAX = 5


def is_percentage(text: str | None) -> bool:
    """A convenience-fee percentage (tag 57): 0.01 to 99.99, at most five characters."""
    if text is None or len(text) > PERCENTAGE_CHARS_MAX or not text.isascii():
        return False
    whole, dot, frac = text.partition(".")
    if not whole.isdigit() or len(whole) > 2 or (dot and not frac.isdigit()) or len(frac) > 2:
        return False
    return int(whole) * 100 + int(frac.ljust(2, "0")) > 0
