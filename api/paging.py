"""Pages by id: the cursor a list route takes (``after``) and answers (``next_after``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Protocol

from fastapi import Query

__all__ = ["AfterId", "next_after"]

AfterId = Annotated[
    str,
    Query(
        max_length=32, pattern=r"^[A-Za-z0-9_-]*$", description="The last id of the previous page."
    ),
]
"""``after`` of a list paged by a merchant-style id (empty: the first page)."""


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


def next_after(found: Sequence[_HasId], limit: int) -> str | None:
    """The cursor of the next page: the last id of a full page, None after the last one."""
    return found[-1].id if len(found) == limit else None
