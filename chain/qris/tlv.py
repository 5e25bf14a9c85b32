"""Splitting EMVCo TLV text: two-digit tag, two-digit length in characters, value."""

from typing import NoReturn

from chain.qris.errors import QrisDecodeError

_LENGTHS = {f"{n:02d}": n for n in range(100)}  # two ASCII digits -> their value
# Every well-formed four-digit field header -> (its tag, shared; the value's length).
_HEADERS = {tag + length: (tag, size) for tag in _LENGTHS for length, size in _LENGTHS.items()}

# (tag, value, position of the tag in the whole payload)
Field = tuple[str, str, int]


def split_fields(text: str, start: int, end: int, parent: str | None) -> list[Field]:
    """Split ``text[start:end]`` into fields, naming the exact position of any break.

    The loop is the decoder's hot path: one dict lookup reads and checks each four-digit
    header; anything unusual goes to ``_break`` for the precise error.
    """
    fields: list[Field] = []
    append = fields.append
    headers = _HEADERS
    pos = start
    while pos < end:
        value_at = pos + 4
        header = headers.get(text[pos:value_at])
        if header is None or value_at + header[1] > end:
            _break(text, pos, end, parent)
        tag, size = header
        append((tag, text[value_at : value_at + size], pos))
        pos = value_at + size
    return fields


def _break(text: str, pos: int, end: int, parent: str | None) -> NoReturn:
    """Raise the error for the field at ``pos`` that ``split_fields`` could not read."""
    if pos + 4 > end:
        raise QrisDecodeError(f"truncated field header {text[pos:end]!r}", tag=parent, position=pos)
    tag = text[pos : pos + 2]
    if tag not in _LENGTHS:
        raise QrisDecodeError(
            f"tag {tag!r} is not two digits" + (f" inside template {parent}" if parent else ""),
            position=pos,
        )
    length_text = text[pos + 2 : pos + 4]
    if length_text not in _LENGTHS:
        raise QrisDecodeError(
            f"length {length_text!r} is not two digits", tag=tag, position=pos + 2
        )
    value_end = pos + 4 + _LENGTHS[length_text]
    raise QrisDecodeError(
        f"length {length_text} runs {value_end - end} characters past the end"
        + (f" of template {parent}" if parent else " of the payload"),
        tag=tag,
        position=pos,
    )


def join_fields(fields: list[tuple[str, str]]) -> str:
    """TLV text of already validated (tag, value) pairs, in the given order."""
    return "".join(f"{tag}{len(value):02d}{value}" for tag, value in fields)
