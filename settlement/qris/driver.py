"""The psycopg 3 connection under a unit of work's SQLAlchemy connection, for COPY and cursors."""

from typing import Any

import psycopg
from sqlalchemy import Connection


def psycopg_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The driver connection of ``conn``, in the same transaction (ingest's COPY, reconciliation's
    server-side cursor); a ``TypeError`` when the engine runs another driver."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError("the QRIS rail needs the psycopg 3 driver")
    return driver
