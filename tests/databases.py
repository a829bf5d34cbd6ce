"""The database backends the tests run on: a SQLite file, and a fresh database on a real PostgreSQL server.

Every test that asks for ``db_url`` (directly, or through ``engine`` or ``cli``) runs once per backend, with
the backend in its id (``test_x[sqlite]``, ``test_x[postgresql]``). PostgreSQL comes from
``SRADIT_TEST_PG_URL``: a role that may create databases, and a database to connect to while creating them
(`.ci/postgres.sh` sets both up). Without it the PostgreSQL cases are skipped, except under ``CI=true``,
where they fail: CI claims PostgreSQL works, so it must run there.

Schema templates: running the twelve Alembic migrations costs a test 0.2–0.8 s, copying their result a few
milliseconds. :class:`SchemaTemplates` migrates one database per backend once a session (per xdist worker), with
Alembic itself, and copies it into each empty database that is upgraded to the head afterwards: SQLite through its
backup API (page by page, under SQLite's own locks, so a WAL database and engines already open on it stay sound),
PostgreSQL with ``CREATE DATABASE … TEMPLATE``. Only the schema migration is replaced: :func:`init_database` still
seeds the label space on top. tests/db/ runs the real chain on every database (its conftest.py).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from db.engine import make_engine

PG_URL_ENV = "SRADIT_TEST_PG_URL"
BACKENDS = ("sqlite", "postgresql")
#: The marker of tests that run on SQLite alone (training tests whose database is incidental; what only SQLite allows).
SQLITE_ONLY = "sqlite_only"
#: Every test database on the server is named so (and only those are ever dropped or replaced).
PG_PREFIX = "sradit_t_"


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


def _drop(admin: Engine, name: str) -> None:
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


@contextmanager
def fresh_pg_database(template: str | None = None) -> Iterator[str]:
    """A new database on the test server for one test (or one module), dropped afterwards: empty, or a copy of
    the database ``template``.

    A whole database rather than a schema: the app, its job subprocesses and Alembic then see exactly what a
    deployment sees, with nothing to configure on the URL."""
    url = require_pg_url()
    admin = _maintenance_engine(url)
    name = f"{PG_PREFIX}{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(admin, name)


class SchemaTemplates:
    """The newest schema, migrated by Alembic once per backend and session, copied into empty databases.

    ``upgrade`` is the real :func:`db.migrate.upgrade`; each template is built with it on first use."""

    def __init__(self, folder: Path, upgrade: Callable[..., None]) -> None:
        self.folder, self.upgrade = folder, upgrade
        self._sqlite: Path | None = None
        self._pg: str | None = None
        self._pg_cleanup: AbstractContextManager[str] | None = None

    def sqlite_template(self) -> Path:
        if self._sqlite is None:
            path = self.folder / "template.db"
            engine = make_engine(f"sqlite:///{path}")
            self.upgrade(engine)
            with engine.connect() as conn:  # everything into the main file: a copy reads the file alone
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            self._sqlite = path
        return self._sqlite

    def pg_template(self) -> str:
        """The name of the migrated template database on the test server (nobody stays connected to it)."""
        if self._pg is None:
            self._pg_cleanup = fresh_pg_database()
            url = self._pg_cleanup.__enter__()
            engine = make_engine(url)
            self.upgrade(engine)
            engine.dispose()
            self._pg = make_url(url).database
        return self._pg

    def close(self) -> None:
        if self._pg_cleanup is not None:
            self._pg_cleanup.__exit__(None, None, None)
            self._pg_cleanup = self._pg = None

    def copy_into(self, engine: Engine) -> bool:
        """Give ``engine``'s database the template's schema (and revision) if it has no tables yet; False when it
        is not a database this can copy into (not empty, in memory, not a test database), for Alembic to upgrade."""
        url = engine.url
        backend = url.get_backend_name()
        if backend == "sqlite" and url.database and url.database != ":memory:":
            if inspect(engine).get_table_names():
                return False
            source = sqlite3.connect(self.sqlite_template())
            target = engine.raw_connection()
            try:
                source.backup(target.driver_connection)  # type: ignore[arg-type]
            finally:
                target.close()
                source.close()
            return True
        if backend == "postgresql" and (url.database or "").startswith(PG_PREFIX) and url.database != self._pg:
            if inspect(engine).get_table_names():
                return False
            template = self.pg_template()
            engine.dispose()  # the engine's own connections; pooled ones elsewhere are ended below (pre-ping)
            admin = _maintenance_engine(require_pg_url())
            _drop(admin, url.database)
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{url.database}" TEMPLATE "{template}"'))
            return True
        return False
