"""Accounts known to be open: what spares ``Ledger.ensure_open`` its read on every command.

An account row is never deleted and never changes its asset, kind or flags (``ensure_account``
refuses another shape), so once its row is committed it exists for good. A ledger notes every
account it found or opened in its transaction's *pending* set; the set joins the engine's known
accounts only after the transaction committed (``settlement.unit_of_work.transaction``), and it
is emptied when any savepoint in the transaction rolls back (the rows it noted may be gone with
it). A transaction opened elsewhere (a test's rolled-back connection) has no pending set and
notes nothing. One cache per engine, so two databases never share one.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Connection, Engine, event

from escrow.model import Account, AccountFlags, AccountKind

__all__ = ["KnownAccounts", "known_accounts"]

known_accounts_max = 100_000
"""Accounts remembered per engine at most; past it the cache starts again empty."""
_PENDING = "msc.known_accounts.pending"
"""Key of the pending set in the connection's ``info`` (it lives as long as the DBAPI
connection, so ``begin`` replaces it at the start of every transaction)."""
Shape = tuple[str, AccountKind, AccountFlags]


class KnownAccounts:
    """The accounts of one database known to be committed, with their asset, kind and flags."""

    def __init__(self) -> None:
        self._known: dict[str, Shape] = {}

    def knows(self, code: str, asset: str, kind: AccountKind, flags: AccountFlags) -> bool:
        """Whether ``code`` is committed with exactly this shape."""
        return self._known.get(code) == (asset, kind, flags)

    def begin(self, conn: Connection) -> set[tuple[str, Shape]]:
        """Start noting the accounts of the transaction ``conn`` just began; the set to pass
        to ``committed`` once it commits."""
        pending: set[tuple[str, Shape]] = set()
        conn.info[_PENDING] = pending
        return pending

    def committed(self, pending: set[tuple[str, Shape]]) -> None:
        """The transaction of ``pending`` committed: its accounts are known from now on."""
        if len(self._known) + len(pending) > known_accounts_max:
            self._known.clear()
        self._known.update(pending)


def note(conn: Connection, account: Account) -> None:
    """``account`` exists in the transaction of ``conn`` (found or just opened)."""
    pending = conn.info.get(_PENDING)
    if pending is not None:
        pending.add((account.code, (account.asset, account.kind, account.flags)))


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, KnownAccounts] = weakref.WeakKeyDictionary()


def known_accounts(engine: Engine) -> KnownAccounts:
    """The cache of ``engine``'s database (made, with its savepoint listener, on first use)."""
    found = _BY_ENGINE.get(engine)
    if found is None:
        found = _BY_ENGINE[engine] = KnownAccounts()
        event.listen(engine, "rollback_savepoint", _forget_pending)
        event.listen(engine, "rollback", _forget_pending_on_rollback)
    return found


def _forget_pending(conn: Connection, name: Any, context: Any) -> None:  # noqa: ANN401 - SQLAlchemy's event signature
    pending = conn.info.get(_PENDING)
    if pending is not None:
        pending.clear()


def _forget_pending_on_rollback(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)
