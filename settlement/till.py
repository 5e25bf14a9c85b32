"""The till: the dynamic QRIS of a checkout as an image a merchant's device shows the Pioneer.

Rendered by segno (a maintained QR library; never drawn by hand), as a QR Code (not Micro QR) at
error correction level M or higher: segno raises the level when the payload fits the same
version anyway. The quiet zone is the four modules ISO/IEC 18004 asks for; light modules are
painted white, so the code stays readable on a dark screen. The payload is the QRIS leg's own
(``checkout_legs.qris_payload``, built by the checkout from the merchant's static QRIS).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno
from sqlalchemy import Connection, text

from settlement.reports import ReportRefused

__all__ = [
    "TillCheckout",
    "find_till_checkout",
    "qris_matrix",
    "qris_payload",
    "qris_png",
    "qris_svg",
]

ERROR_LEVEL = "m"
"""Lowest error correction the till renders (segno may boost it to Q or H)."""
quiet_zone_modules = 4
png_module_px = 8
"""A module of the PNG is 8x8 pixels (a typical dynamic QRIS is then some 500 px wide)."""
svg_module_units = 8
payload_chars_max = 512
"""The longest payload rendered (``checkout_legs.qris_payload`` holds no more)."""


def _code(payload: str) -> segno.QRCode:
    if not 0 < len(payload) <= payload_chars_max:
        raise ValueError(f"a QRIS payload is 1..{payload_chars_max} characters")
    return segno.make_qr(payload, error=ERROR_LEVEL, boost_error=True)


def qris_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The modules of ``payload``'s QR Code (dark = True), without the quiet zone."""
    return tuple(tuple(bool(module) for module in row) for row in _code(payload).matrix)


def qris_svg(payload: str) -> bytes:
    """``payload`` as an SVG document (UTF-8, with XML declaration)."""
    out = io.BytesIO()
    _code(payload).save(
        out, kind="svg", scale=svg_module_units, border=quiet_zone_modules, dark="#000",
        light="#fff", title="QRIS",
    )  # fmt: skip
    return out.getvalue()


def qris_png(payload: str) -> bytes:
    """``payload`` as a PNG image (black on white)."""
    out = io.BytesIO()
    _code(payload).save(out, kind="png", scale=png_module_px, border=quiet_zone_modules)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class TillCheckout:
    """What the till needs of a checkout: whose it is and its QRIS leg, if it has one."""

    checkout_id: str
    merchant_id: str
    status: str
    qris_reference: str | None
    qris_status: str | None
    qris_payload: str | None


def find_till_checkout(conn: Connection, checkout_id: str) -> TillCheckout | None:
    """The checkout and its QRIS leg (None for a checkout that does not exist)."""
    row = conn.execute(
        text(
            "SELECT c.id, c.merchant_id, c.status, l.reference, l.status AS leg_status,"
            " l.qris_payload FROM checkouts c LEFT JOIN checkout_legs l"
            " ON l.checkout_id = c.id AND l.tender = 'QRIS' WHERE c.id = :id"
            " ORDER BY l.position LIMIT 1"
        ),
        {"id": checkout_id},
    ).one_or_none()
    if row is None:
        return None
    return TillCheckout(row.id, row.merchant_id, row.status, row.reference, row.leg_status,
                        row.qris_payload)  # fmt: skip


def qris_payload(checkout: TillCheckout) -> str:
    """The payload to show; refused when there is none (``checkout_no_qris_leg``) or when the
    leg no longer waits for a payment (``till_qris_leg_not_open``: a code shown after it was paid
    or expired would only collect a payment to refund)."""
    if checkout.qris_reference is None or not checkout.qris_payload:
        raise ReportRefused(f"{checkout.checkout_id} has no QRIS leg", code="checkout_no_qris_leg")
    if checkout.status != "open" or checkout.qris_status != "open":
        raise ReportRefused(
            f"{checkout.checkout_id}'s QRIS leg is {checkout.qris_status}, checkout"
            f" {checkout.status}",
            code="till_qris_leg_not_open",
        )
    return checkout.qris_payload
