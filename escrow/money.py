"""Money: the assets, one exact parser of decimal text into integer smallest units, formatting.

Every rail reads amounts written by someone else (a gateway's JSON, Pi's API, Horizon, an acquirer's
report, an operator's command line). They all come through ``parse_amount``, which never rounds:
text with more fractional digits than the asset's scale, or beyond the ledger's BIGINT range, or
not a plain decimal number, is refused with a stable ``code``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import (
    Decimal,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Subnormal,
    Underflow,
    localcontext,
)
from types import MappingProxyType

from escrow.model import Asset, amount_max
from escrow.refusals import Refusal

AMOUNT_CHARS_MAX = 64
"""Longest amount text read at all; longer text is refused before any arithmetic."""
SCALE_MAX = 18
"""Largest asset scale this parser serves (the widest known is 18, ERC-20 wei)."""
UNITS_MAX = amount_max
"""The ledger stores amounts as PostgreSQL BIGINT."""

_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
"""Digits, an optional fraction, an optional exponent: no sign, space, '_', NaN or Infinity."""

AMOUNT_INVALID = "amount_invalid"
AMOUNT_TOO_PRECISE = "amount_too_precise"
AMOUNT_OUT_OF_RANGE = "amount_out_of_range"


class AmountRefused(Refusal, ValueError):
    """An outside amount that is not an exact, in-range amount of the asset; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def parse_amount(text: str, scale: int, *, allow_zero: bool = False) -> int:
    """Exact smallest units of the decimal ``text`` for an asset of ``scale`` decimals.

    ``"15000.50"`` at scale 2 is 1500050. Refused (``AmountRefused``): anything but plain decimal
    text (``amount_invalid``); more fractional digits than ``scale``, trailing zeros included
    (``amount_too_precise``); zero unless ``allow_zero``, or more than ``UNITS_MAX`` units
    (``amount_out_of_range``).
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= SCALE_MAX:
        raise ValueError(f"scale must be an int from 0 to {SCALE_MAX}, got {scale!r}")
    if not isinstance(text, str) or len(text) > AMOUNT_CHARS_MAX or not _DECIMAL.fullmatch(text):
        raise AmountRefused(AMOUNT_INVALID, f"not a plain decimal amount: {_shown(text)}")
    units = (
        _plain_units(text, scale)
        if "e" not in text and "E" not in text
        else _exp_units(text, scale)
    )
    if units > UNITS_MAX or (units == 0 and not allow_zero):
        raise AmountRefused(AMOUNT_OUT_OF_RANGE, f"{_shown(text)} is out of range")
    return units


def _plain_units(text: str, scale: int) -> int:
    """Digits with at most one point: exact in integers (the common case: no Decimal needed)."""
    whole, _, fraction = text.partition(".")
    if len(fraction) > scale:
        raise AmountRefused(AMOUNT_TOO_PRECISE, f"{_shown(text)} has more than {scale} decimals")
    return int(whole + fraction.ljust(scale, "0"))


def _exp_units(text: str, scale: int) -> int:
    """Text with an exponent, through an exact Decimal context that traps every loss."""
    with localcontext() as ctx:
        # Wide enough that no accepted text is ever rounded; every loss of digits is an error.
        ctx.prec = AMOUNT_CHARS_MAX + SCALE_MAX
        ctx.Emax = AMOUNT_CHARS_MAX
        ctx.Emin = -AMOUNT_CHARS_MAX
        for signal in (Inexact, Rounded, Overflow, Underflow, Subnormal, InvalidOperation):
            ctx.traps[signal] = True
        try:
            value = ctx.create_decimal(text)
            exponent = value.as_tuple().exponent
            if not isinstance(exponent, int):
                raise AmountRefused(AMOUNT_INVALID, f"not a finite amount: {_shown(text)}")
            if exponent < -scale:
                raise AmountRefused(
                    AMOUNT_TOO_PRECISE, f"{_shown(text)} has more than {scale} decimals"
                )
            units = int(value.scaleb(scale))
        except Overflow:
            raise AmountRefused(AMOUNT_OUT_OF_RANGE, f"{_shown(text)} is too large") from None
        except (Inexact, Rounded, Underflow, Subnormal):
            raise AmountRefused(
                AMOUNT_TOO_PRECISE, f"{_shown(text)} has more than {scale} decimals"
            ) from None
        except InvalidOperation:
            raise AmountRefused(AMOUNT_INVALID, f"not a decimal amount: {_shown(text)}") from None
    return units


def format_amount(units: int, scale: int) -> str:
    """The exact decimal text of ``units`` with exactly ``scale`` decimals (none for scale 0)."""
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise ValueError(f"units must be a non-negative int, got {units!r}")
    if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= SCALE_MAX:
        raise ValueError(f"scale must be an int from 0 to {SCALE_MAX}, got {scale!r}")
    if scale == 0:
        return str(units)
    whole, fraction = divmod(units, 10**scale)
    return f"{whole}.{fraction:0{scale}d}"


def _shown(text: object) -> str:
    """The refused input for a message, cut short: it came from outside."""
    shown = repr(text)
    return shown if len(shown) <= AMOUNT_CHARS_MAX else shown[:AMOUNT_CHARS_MAX] + "..."


ASSET_UNKNOWN = "asset_unknown"
ASSET_MISMATCH = "asset_mismatch"

IDR = Asset("IDR", 2, "Indonesian Rupiah")
"""Rupiah, in sen."""
PI = Asset("PI", 7, "Pi")
"""Pi, in 1e-7 Pi (Stellar's stroop precision)."""
MSC = Asset("MSC", 2, "Madiun Stable Coin")
"""1 unit = Rp 0.01; the ERC-20 token has 2 decimals."""
MSCP = Asset("MSCP", 0, "MSC Points")
"""Whole points."""
ASSETS: Mapping[str, Asset] = MappingProxyType({a.code: a for a in (IDR, PI, MSC, MSCP)})
"""Every asset the ledger knows, by code: the rows migration 0001 inserts into ``assets``."""


class AssetRefused(Refusal, ValueError):
    """An unknown asset code, or two assets where one is required; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def asset(code: str) -> Asset:
    """The asset with ``code`` (``"PI"``); an unknown code is ``AssetRefused(asset_unknown)``."""
    found = ASSETS.get(code) if isinstance(code, str) else None
    if found is None:
        raise AssetRefused(ASSET_UNKNOWN, f"unknown asset {_shown(code)}")
    return found


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one asset: ``units`` of ``10**-asset.scale``, from 0 to ``UNITS_MAX``.

    Arithmetic and comparison stay within one asset; mixing two is ``AssetRefused``
    (``asset_mismatch``), and a result below zero or above ``UNITS_MAX`` is ``AmountRefused``.
    """

    asset: Asset
    units: int

    def __post_init__(self) -> None:
        if isinstance(self.units, bool) or not isinstance(self.units, int):
            raise AmountRefused(AMOUNT_INVALID, f"units must be an int, not {self.units!r}")
        if not 0 <= self.units <= UNITS_MAX:
            raise AmountRefused(AMOUNT_OUT_OF_RANGE, f"{self.units} units are out of range")

    @classmethod
    def parse(cls, text: str, of: Asset, *, allow_zero: bool = False) -> Money:
        """The exact amount of decimal ``text`` in asset ``of`` (``parse_amount``'s rules)."""
        return cls(of, parse_amount(text, of.scale, allow_zero=allow_zero))

    @classmethod
    def zero(cls, of: Asset) -> Money:
        """No amount of ``of``."""
        return cls(of, 0)

    def __str__(self) -> str:
        """The decimal text with exactly the asset's scale of decimals: ``"15000.50"``."""
        return format_amount(self.units, self.asset.scale)

    def to_decimal(self) -> Decimal:
        """The exact Decimal, with the asset's scale of decimals (for APIs that want one)."""
        return Decimal(self.units).scaleb(-self.asset.scale)

    def __add__(self, other: Money) -> Money:
        return Money(self.asset, self.units + self._same(other).units)

    def __sub__(self, other: Money) -> Money:
        return Money(self.asset, self.units - self._same(other).units)

    def __lt__(self, other: Money) -> bool:
        return self.units < self._same(other).units

    def __le__(self, other: Money) -> bool:
        return self.units <= self._same(other).units

    def __gt__(self, other: Money) -> bool:
        return self.units > self._same(other).units

    def __ge__(self, other: Money) -> bool:
        return self.units >= self._same(other).units

    def _same(self, other: Money) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"Money combines with Money, not {type(other).__name__}")
        if other.asset != self.asset:
            raise AssetRefused(
                ASSET_MISMATCH, f"{self.asset.code} and {other.asset.code} do not combine"
            )
        return other


def format_idr_display(amount: Money) -> str:
    """Rupiah as people in Indonesia read it: ``Rp 15.000``, or ``Rp 15.000,50`` with sen.

    For screens and messages only; machines exchange ``str(amount)``.
    """
    if amount.asset != IDR:
        raise AssetRefused(ASSET_MISMATCH, f"{amount.asset.code} is not shown as rupiah")
    rupiah, sen = divmod(amount.units, 10**IDR.scale)
    whole = f"{rupiah:,}".replace(",", ".")
    return f"Rp {whole}" if sen == 0 else f"Rp {whole},{sen:02d}"


RATE_CHARS_MAX = 32
_RATE = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,18})?")


def parse_rate(text: str, fraction_digits_max: int) -> Decimal:
    """The exact non-negative decimal of plain ``text`` with at most ``fraction_digits_max``
    decimals (a rate, not an amount: it has no asset's scale); ``amount_invalid`` or
    ``amount_too_precise`` otherwise."""
    if not isinstance(text, str) or len(text) > RATE_CHARS_MAX or not _RATE.fullmatch(text):
        raise AmountRefused(AMOUNT_INVALID, f"not a plain decimal rate: {_shown(text)}")
    if len(text.partition(".")[2]) > fraction_digits_max:
        raise AmountRefused(AMOUNT_TOO_PRECISE, f"{_shown(text)} has too many decimals")
    return Decimal(text)
