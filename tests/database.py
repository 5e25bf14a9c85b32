"""Where the tests' PostgreSQL comes from, and one migrated database per pytest-xdist worker."""

from __future__ import annotations

import os
import socket

import psycopg
from psycopg import sql

from settlement.db import PROJECT_ROOT, migrate

LOCAL_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
connect_timeout_s = 2


def server_url() -> str:
    """MSC_TEST_DATABASE_URL, else the server on :5432 when it answers, else an embedded one."""
    configured = os.environ.get("MSC_TEST_DATABASE_URL")
    if configured:
        return configured
    if _port_open("127.0.0.1", 5432):
        return LOCAL_SERVER_URL
    from settlement.embedded import EmbeddedPostgres

    return EmbeddedPostgres(PROJECT_ROOT / ".data" / "test-pg").start()


def fresh_database(base_url: str, name: str) -> str:
    """Drop and create database ``name`` on ``base_url``'s server, migrate it, return its URL."""
    with psycopg.connect(base_url, autocommit=True, connect_timeout=connect_timeout_s) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(base_url, name)
    migrate(url)
    return url


def with_database(url: str, name: str) -> str:
    """The same server (host, port, user, password; TCP or socket), database ``name``."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    host = str(info.get("host") or "")
    port = str(info.get("port") or "5432")
    user = str(info.get("user") or "postgres")
    password = info.get("password")
    credentials = f"{user}:{password}" if password else user
    if host.startswith("/") or not host:
        return f"postgresql://{credentials}@/{name}?host={host or '/tmp'}&port={port}"
    return f"postgresql://{credentials}@{host}:{port}/{name}"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(connect_timeout_s)
        return probe.connect_ex((host, port)) == 0


def worker_database_name(worker: str) -> str:
    """One database per xdist worker (``gw0``...) of this run, so concurrent runs never collide."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"p{os.getpid()}"
    return f"msc_test_{run[:10]}_{worker}".lower()


def drop_database(base_url: str, name: str) -> None:
    """Drop a test database (at the end of the session that made it)."""
    with psycopg.connect(base_url, autocommit=True, connect_timeout=connect_timeout_s) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
