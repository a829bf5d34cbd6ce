"""The database backends the tests run on: a SQLite file, and a fresh database on a real PostgreSQL server.

Every test that asks for ``db_url`` (directly, or through ``engine`` or ``cli``) runs once per backend, with
the backend in its id (``test_x[sqlite]``, ``test_x[postgresql]``). PostgreSQL comes from
``SRADIT_TEST_PG_URL``: a role that may create databases, and a database to connect to while creating them
(`.ci/postgres.sh` sets both up). Without it the PostgreSQL cases are skipped, except under ``CI=true``,
where they fail: CI claims PostgreSQL works, so it must run there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

PG_URL_ENV = "SRADIT_TEST_PG_URL"
BACKENDS = ("sqlite", "postgresql")
#: The marker of tests that run on SQLite alone (training tests whose database is incidental; what only SQLite allows).
SQLITE_ONLY = "sqlite_only"


def require_pg_url() -> str:
    """The server's URL; a skip when it is not set, and a failure when CI runs without it."""
    url = os.environ.get(PG_URL_ENV, "")
    if url:
        return url
    message = f"{PG_URL_ENV} is not set: no PostgreSQL server to run this test on (see .ci/postgres.sh)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@cache
def _maintenance_engine(url: str) -> Engine:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new, empty database on the test server for one test (or one module), dropped afterwards.

    A whole database rather than a schema: the app, its job subprocesses and Alembic then see exactly what a
    deployment sees, with nothing to configure on the URL."""
    url = require_pg_url()
    admin = _maintenance_engine(url)
    name = f"sradit_t_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # A job subprocess or a pooled connection of the test may still be connected: ended first. Not
            # DROP … WITH (FORCE), which also needs the right to end autovacuum workers; a plain DROP DATABASE
            # stops those itself, and waits a few seconds for the ended connections to go.
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND usename = current_user AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
