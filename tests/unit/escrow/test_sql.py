"""``escrow.sql.sql``: one clause per distinct statement, the same as ``text`` would build."""

from __future__ import annotations

from sqlalchemy import text

from escrow.sql import sql, statements_max


def test_a_statement_is_built_once_and_reads_as_text_builds_it() -> None:
    statement = "SELECT :a + :b AS total -- escrow.sql test"
    first = sql(statement)
    assert sql(statement) is first
    assert str(first) == str(text(statement))
    assert set(first._bindparams) == {"a", "b"}


def test_the_memo_is_bounded() -> None:
    for n in range(statements_max + 10):
        sql(f"SELECT {n} AS bounded")
    assert sql.cache_info().currsize <= statements_max
