"""The cumulative log's public answers, read from the database (``settlement.audit.cumulative``):
what the public audit routes and the transparency page serve once a month is exported."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from settlement.audit import cumulative
from settlement.audit.transparency import LogNotAvailable


class DatabaseTransparencyLog:
    """``TransparencyLog`` over the stored checkpoints, leaf hashes and cosignatures."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def checkpoint(self) -> dict[str, Any]:
        """The latest checkpoint: its month, size, root and signed note with cosignatures."""
        with self._engine.connect() as conn:
            top = cumulative.latest(conn)
            note = cumulative.checkpoint_note(conn)
        if top is None or note is None:
            raise LogNotAvailable("no month has been exported into the log yet")
        return {"period": top.period, "tree_size": top.size, "root": top.root.hex(), "note": note}

    def inclusion(self, transfer_id: str) -> dict[str, Any]:
        """The transfer's proof in the tree of the latest checkpoint."""
        with self._engine.connect() as conn:
            return cumulative.inclusion(conn, transfer_id).as_json()

    def consistency(self, old_size: int, new_size: int) -> dict[str, Any]:
        """The RFC 9162 proof that the tree of ``old_size`` is a prefix of ``new_size``'s."""
        with self._engine.connect() as conn:
            proof = cumulative.consistency(conn, old_size, new_size)
        return {"old_size": old_size, "new_size": new_size, "proof": [node.hex() for node in proof]}

    def cosignatures(self, period: str) -> list[dict[str, Any]]:
        """The witnesses' cosignatures of ``period``'s checkpoint, one per witness key."""
        with self._engine.connect() as conn:
            if cumulative.stored(conn, period) is None:
                raise LogNotAvailable(f"{period} has no checkpoint in the log")
            rows = conn.execute(
                text(
                    "SELECT witness, line, timestamp_s FROM tlog_cosignatures"
                    " WHERE period = :p ORDER BY witness"
                ),
                {"p": period},
            ).all()
        return [
            {"key": row.witness, "line": row.line, "timestamp": int(row.timestamp_s)}
            for row in rows
        ]
