"""The till's QRIS images: well formed, the modules segno computed for the payload, and read back
to the payload by an independent decoder (zxing-cpp) from the pixels of the PNG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import segno
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.reports import ReportRefused
from settlement.till import (
    TillCheckout,
    png_module_px,
    qris_matrix,
    qris_payload,
    qris_png,
    qris_svg,
    quiet_zone_modules,
    svg_module_units,
)
from tests.support.qr_images import decoded, modules_of, png_pixels

# A dynamic QRIS of the pilot's shape (the checkout builds the real one from the static payload).
PAYLOAD = (
    "00020101021226610016ID.CO.QRIS.WWW0118936009150000000001021500000000000000103UMI"
    "51440014ID.CO.QRIS.WWW0215ID10200000000010303UMI5204581253033605405150005802ID"
    "5912PECEL BU TIN6006MADIUN62230119co_abcdefghijkl-qr6304ABCD"
)


def test_the_png_holds_segnos_modules_and_reads_back_as_the_payload() -> None:
    pixels = png_pixels(qris_png(PAYLOAD))
    matrix = qris_matrix(PAYLOAD)
    side = (len(matrix) + 2 * quiet_zone_modules) * png_module_px
    assert len(pixels) == side
    assert all(len(row) == side for row in pixels)
    assert modules_of(pixels, png_module_px) == matrix
    assert decoded(pixels) == [PAYLOAD]


def test_the_code_is_a_qr_code_at_level_m_or_higher() -> None:
    code = segno.make_qr(PAYLOAD, error="m", boost_error=True)
    assert not code.is_micro
    assert code.error in {"M", "Q", "H"}
    pixels = png_pixels(qris_png(PAYLOAD))
    flat = memoryview(bytes(v for row in pixels for v in row)).cast("B", shape=[len(pixels)] * 2)
    (found,) = zxingcpp.read_barcodes(flat)
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    assert found.ec_level in {"M", "Q", "H"}


def test_the_svg_is_well_formed_and_sized_to_the_matrix() -> None:
    svg = qris_svg(PAYLOAD)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    side = (len(qris_matrix(PAYLOAD)) + 2 * quiet_zone_modules) * svg_module_units
    assert (root.get("width"), root.get("height")) == (str(side), str(side))
    assert b"<script" not in svg
    assert b"href" not in svg
    assert svg_modules(root) == qris_matrix(PAYLOAD)


def svg_modules(root: ET.Element) -> tuple[tuple[bool, ...], ...]:
    """The dark modules of segno's SVG: one group scaled to ``svg_module_units`` whose dark path
    is moves and horizontal runs in module units (``M4 4.5h7m7 0h7m-21 1h1...``), each run one
    module high, drawn at the row's centre line."""
    ns = "{http://www.w3.org/2000/svg}"
    (group,) = root.iter(f"{ns}g")
    assert group.get("transform") == f"scale({svg_module_units})"
    side = int(root.get("width") or 0) // svg_module_units
    grid = [[False] * side for _ in range(side)]
    (dark,) = (p for p in group.iter(f"{ns}path") if p.get("stroke") == "#000")
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[0-9.]+)(?: (-?[0-9.]+))?", dark.get("d") or ""):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for col in range(int(x), int(x + float(a))):
                grid[int(y)][col] = True
            x += float(a)
    quiet = quiet_zone_modules
    return tuple(tuple(row[quiet:-quiet]) for row in grid[quiet:-quiet])


@settings(max_examples=15, deadline=None)
@given(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=300)
)
def test_any_payload_reads_back(payload: str) -> None:
    pixels = png_pixels(qris_png(payload))
    assert modules_of(pixels, png_module_px) == qris_matrix(payload)
    assert decoded(pixels) == [payload]


@pytest.mark.parametrize("payload", ["", "x" * 513])
def test_an_empty_or_oversized_payload_is_no_image(payload: str) -> None:
    with pytest.raises(ValueError, match=r"1\.\.512"):
        qris_png(payload)


def _till(
    status: str = "open", leg: str | None = "open", payload: str | None = PAYLOAD
) -> TillCheckout:
    reference = None if leg is None else "co_abcdefghijkl-qr"
    return TillCheckout("co_abcdefghijkl", "UM001", status, reference, leg, payload)


def test_the_till_shows_an_open_legs_payload() -> None:
    assert qris_payload(_till()) == PAYLOAD


@pytest.mark.parametrize(
    ("till", "code"),
    [
        (_till(leg=None, payload=None), "checkout_no_qris_leg"),
        (_till(payload=None), "checkout_no_qris_leg"),
        (_till(leg="paid"), "till_qris_leg_not_open"),
        (_till(status="expired"), "till_qris_leg_not_open"),
        (_till(status="paid", leg="paid"), "till_qris_leg_not_open"),
    ],
)
def test_the_till_refuses_a_checkout_without_an_open_qris_leg(
    till: TillCheckout, code: str
) -> None:
    with pytest.raises(ReportRefused) as refused:
        qris_payload(till)
    assert refused.value.code == code
