"""Free text the ledger keeps (memos, reasons, evidence): checked before anything is stored."""

from __future__ import annotations


def printable(value: object, chars_max: int) -> bool:
    """Whether ``value`` is text of 1..``chars_max`` printable characters, not all blank (no
    NUL, control or format character, no unpaired surrogate: nothing PostgreSQL refuses)."""
    return (
        isinstance(value, str)
        and len(value.strip()) > 0
        and len(value) <= chars_max
        and value.isprintable()
    )


def printable_lines(value: object, chars_max: int) -> bool:
    """``printable``, but a note of several lines may break them (``\n`` or ``\r\n``)."""
    if not isinstance(value, str):
        return False
    one_line = value.replace("\r\n", " ").replace("\n", " ")
    return len(value) <= chars_max and printable(one_line, chars_max)
