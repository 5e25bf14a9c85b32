"""A chart of accounts as plain data: which account codes may exist and which transfer codes.

``escrow`` knows no rail: the declarations live in ``settlement/chart.py``. The ledger takes a
chart as its ``policy`` and then refuses to open an account that matches no declared pattern (or
matches one with another asset, kind or flags) and to post a transfer with an undeclared code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from escrow.errors import InvalidTransfer, LedgerError
from escrow.model import AccountFlags, AccountKind
from escrow.refusals import Refusal

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
PART = r"[A-Za-z0-9_.\-]{1,64}"
"""What one ``{placeholder}`` of a pattern matches: an id without ``:``."""


class AccountUndeclared(Refusal, LedgerError, ValueError):
    """The account code matches no pattern of the chart (or one of another asset/kind/flags)."""

    code = "account_undeclared"


class TransferCodeUndeclared(InvalidTransfer):
    """The transfer code is not in the chart: a programmer error, nothing was posted."""


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """Everything needed to open one account: what ``Ledger.ensure_account`` takes."""

    code: str
    asset: str
    kind: AccountKind
    owner: str | None = None
    flags: AccountFlags = AccountFlags.NONE


@dataclass(frozen=True, slots=True)
class AccountPattern:
    """A family of accounts: ``pioneer:{uid}:PI`` is one liability in PI per Pioneer.

    ``owner`` is the owner party, a constant (``treasury``) or a placeholder (``{uid}``).
    """

    pattern: str
    asset: str
    kind: AccountKind
    meaning: str
    owner: str | None = None
    flags: AccountFlags = AccountFlags.NONE
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = _PLACEHOLDER.split(self.pattern)
        regex = "".join(
            f"(?P<{part}>{PART})" if i % 2 else re.escape(part) for i, part in enumerate(parts)
        )
        object.__setattr__(self, "_regex", re.compile(regex))

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The names of the pattern's placeholders, in order."""
        return tuple(_PLACEHOLDER.findall(self.pattern))

    def match(self, code: str) -> Mapping[str, str] | None:
        """The placeholder values if ``code`` is one of this pattern's accounts."""
        found = self._regex.fullmatch(code)
        return found.groupdict() if found else None

    def declares(self, code: str, asset: str, kind: AccountKind, flags: AccountFlags) -> bool:
        """Whether ``code`` is one of this pattern's accounts, with these fields (the fields
        compared first: most patterns differ in them, and a comparison costs less than a
        match)."""
        return (self.asset, self.kind, self.flags) == (asset, kind, flags) and (
            self._regex.fullmatch(code) is not None
        )

    def spec(self, **values: str) -> AccountSpec:
        """The account of this pattern for ``values`` (each must be a valid part)."""
        if set(values) != set(self.placeholders):
            raise ValueError(f"{self.pattern} needs {self.placeholders}, got {sorted(values)}")
        code = _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.pattern)
        if self.match(code) is None:
            raise AccountUndeclared(f"{code!r} is not a valid {self.pattern} account")
        owner = self.owner
        if owner is not None:
            owner = _PLACEHOLDER.sub(lambda m: values[m.group(1)], owner)
        return AccountSpec(code, self.asset, self.kind, owner, self.flags)


@dataclass(frozen=True, slots=True)
class TransferCodeDecl:
    """One transfer code and what a transfer with it means."""

    code: str
    meaning: str


class AccountPolicy(Protocol):
    """What the ledger asks before it opens an account or posts a transfer."""

    def check_account(self, code: str, asset: str, kind: AccountKind, flags: AccountFlags) -> None:
        """Raise ``AccountUndeclared`` unless the chart declares this account."""

    def check_transfer_code(self, code: str) -> None:
        """Raise ``TransferCodeUndeclared`` unless the chart declares this transfer code."""


class Chart:
    """Declared account patterns and transfer codes; an ``AccountPolicy`` for the ledger."""

    def __init__(
        self, accounts: Iterable[AccountPattern], transfer_codes: Iterable[TransferCodeDecl]
    ) -> None:
        self.accounts = tuple(accounts)
        self.transfer_codes = tuple(transfer_codes)
        self._codes = {decl.code for decl in self.transfer_codes}

    def pattern_of(self, code: str) -> AccountPattern | None:
        """The first declared pattern ``code`` belongs to."""
        return next((p for p in self.accounts if p.match(code) is not None), None)

    def spec_of(self, code: str) -> AccountSpec:
        """The account ``code`` names, as the chart declares it; ``AccountUndeclared`` if none."""
        pattern = self.pattern_of(code)
        if pattern is None:
            raise AccountUndeclared(f"no pattern of the chart of accounts matches {code!r}")
        values = pattern.match(code)
        return pattern.spec(**dict(values or {}))

    def check_account(self, code: str, asset: str, kind: AccountKind, flags: AccountFlags) -> None:
        """Raise ``AccountUndeclared`` unless a pattern declares ``code`` with these fields."""
        if any(pattern.declares(code, asset, kind, flags) for pattern in self.accounts):
            return
        raise AccountUndeclared(
            f"no pattern of the chart declares {code!r} as {asset}/{kind}/{flags!r}"
        )

    def check_transfer_code(self, code: str) -> None:
        """Raise ``TransferCodeUndeclared`` unless ``code`` is declared."""
        if code not in self._codes:
            raise TransferCodeUndeclared(f"transfer code {code!r} is not in the chart")
