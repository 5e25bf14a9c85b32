"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xor-out)."""

import binascii

CRC_INIT = 0xFFFF


def crc16_ccitt_false(text: str) -> int:
    """CRC of the UTF-8 bytes of ``text``; binascii.crc_hqx is this CRC given init 0xFFFF."""
    return binascii.crc_hqx(text.encode("utf-8"), CRC_INIT)


def format_crc(value: int) -> str:
    """Four upper-case hex digits, zero-padded, as EMVCo tag 63 requires."""
    return f"{value:04X}"
