"""The QRIS codec's own errors: one hierarchy, each naming the tag and position."""


class QrisError(ValueError):
    """Any payload the codec refuses; ``tag`` and ``position`` locate the fault."""

    def __init__(self, reason: str, *, tag: str | None = None, position: int | None = None) -> None:
        self.reason = reason
        self.tag = tag
        self.position = position
        where = []
        if tag is not None:
            where.append(f"tag {tag}")
        if position is not None:
            where.append(f"position {position}")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(f"{prefix}{reason}")


class QrisDecodeError(QrisError):
    """A payload that cannot be read safely (broken TLV, CRC mismatch, ambiguity)."""


class QrisEncodeError(QrisError):
    """A model that must not be generated (limits, charset, missing mandatory fields)."""
