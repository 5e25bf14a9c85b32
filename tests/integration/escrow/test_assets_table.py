"""The asset registry in code and the ``assets`` table of a migrated database are the same."""

from sqlalchemy import Connection, text

from escrow.money import ASSETS


def test_the_assets_table_is_the_registry(db_conn: Connection) -> None:
    rows = db_conn.execute(text("SELECT code, scale, name FROM assets ORDER BY code")).all()
    table = {row.code: (row.scale, row.name) for row in rows}
    assert table == {a.code: (a.scale, a.name) for a in ASSETS.values()}
