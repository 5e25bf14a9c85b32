"""Splitting EMVCo TLV text: two-digit tag, two-digit length in characters, value."""

from chain.qris.errors import QrisDecodeError

_TWO_DIGITS = frozenset(f"{n:02d}" for n in range(100))

# (tag, value, position of the tag in the whole payload)
Field = tuple[str, str, int]


def split_fields(text: str, start: int, end: int, parent: str | None) -> list[Field]:
    """Split ``text[start:end]`` into fields, naming the exact position of any break."""
    fields: list[Field] = []
    pos = start
    while pos < end:
        if pos + 4 > end:
            raise QrisDecodeError(
                f"truncated field header {text[pos:end]!r}", tag=parent, position=pos
            )
        header = text[pos : pos + 4]
        if header.isdigit() and header.isascii():
            value_end = pos + 4 + int(header[2:])
            if value_end <= end:
                fields.append((header[:2], text[pos + 4 : value_end], pos))
                pos = value_end
                continue
        tag = header[:2]
        if tag not in _TWO_DIGITS:
            raise QrisDecodeError(
                f"tag {tag!r} is not two digits" + (f" inside template {parent}" if parent else ""),
                position=pos,
            )
        length_text = text[pos + 2 : pos + 4]
        if length_text not in _TWO_DIGITS:
            raise QrisDecodeError(
                f"length {length_text!r} is not two digits", tag=tag, position=pos + 2
            )
        value_end = pos + 4 + int(length_text)
        if value_end > end:
            raise QrisDecodeError(
                f"length {length_text} runs {value_end - end} characters past the end"
                + (f" of template {parent}" if parent else " of the payload"),
                tag=tag,
                position=pos,
            )
        fields.append((tag, text[pos + 4 : value_end], pos))
        pos = value_end
    return fields


def join_fields(fields: list[tuple[str, str]]) -> str:
    """TLV text of already validated (tag, value) pairs, in the given order."""
    return "".join(f"{tag}{len(value):02d}{value}" for tag, value in fields)
