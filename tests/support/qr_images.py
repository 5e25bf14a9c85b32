"""Reading the till's QR images back in tests: PNG pixels, module grids, zxing-cpp decoding."""

from __future__ import annotations

import struct
import zlib

import zxingcpp

from settlement.till import quiet_zone_modules

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_pixels(png: bytes) -> list[list[int]]:
    """Grey levels (0..255) of a non-interlaced 8-bit-or-less greyscale/palette PNG, by row.

    Enough of PNG (RFC 2083) for what segno writes: chunks checked by CRC, IDAT inflated, every
    filter type undone.
    """
    assert png.startswith(PNG_SIGNATURE)
    pos, idat, header, palette = len(PNG_SIGNATURE), b"", None, None
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + data) == crc, kind
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"PLTE":
            palette = [data[i : i + 3] for i in range(0, len(data), 3)]
        elif kind == b"IDAT":
            idat += data
        elif kind == b"IEND":
            break
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert colour in (0, 3)
    assert depth in (1, 2, 4, 8)
    assert interlace == 0
    raw = zlib.decompress(idat)
    stride = (width * depth + 7) // 8
    rows: list[list[int]] = []
    previous = bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        current = _unfilter(line[0], bytearray(line[1:]), previous, max(1, depth // 8))
        samples = [
            (current[x * depth // 8] >> (8 - depth - (x * depth) % 8)) & ((1 << depth) - 1)
            for x in range(width)
        ]
        if palette is not None:
            rows.append([palette[s][0] for s in samples])
        else:
            rows.append([s * 255 // ((1 << depth) - 1) for s in samples])
        previous = current
    return rows


def _unfilter(kind: int, line: bytearray, prior: bytearray, bpp: int) -> bytearray:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up, up_left = prior[i], prior[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - up_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
            pred = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
            line[i] = (line[i] + pred) & 0xFF
        else:
            assert kind == 0, kind
    return line


def modules_of(pixels: list[list[int]], module_px: int) -> tuple[tuple[bool, ...], ...]:
    """The module grid of an image, read at each module's centre, without the quiet zone; every
    pixel of a module must agree with its centre."""
    side = len(pixels) // module_px
    grid = []
    for my in range(side):
        row = []
        for mx in range(side):
            block = {
                pixels[my * module_px + dy][mx * module_px + dx]
                for dy in range(module_px)
                for dx in range(module_px)
            }
            assert len(block) == 1, (my, mx)
            row.append(block.pop() < 128)
        grid.append(tuple(row))
    quiet = quiet_zone_modules
    assert all(not dark for row in grid[:quiet] + grid[-quiet:] for dark in row)
    assert all(not any(row[:quiet] + row[-quiet:]) for row in grid)
    return tuple(row[quiet:-quiet] for row in grid[quiet:-quiet])


def decoded(pixels: list[list[int]]) -> list[str]:
    """What zxing-cpp reads in a grey image."""
    flat = bytes(value for row in pixels for value in row)
    image = memoryview(flat).cast("B", shape=[len(pixels), len(pixels[0])])
    return [found.text for found in zxingcpp.read_barcodes(image)]
