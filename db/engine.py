"""The one engine factory, and sessions: short, one per unit of work, writes under BEGIN IMMEDIATE."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

_WRITE_OPTION = "sradit_write"


def _dumps(value: Any) -> str:
    # Chinese text stays readable in the database file.
    return json.dumps(value, ensure_ascii=False)


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False) -> Engine:
    """An engine for ``url``; for SQLite, WAL + busy_timeout + foreign keys, and explicit BEGINs.

    pysqlite's own transaction handling starts transactions lazily and DEFERRED; a deferred
    read-then-write transaction in WAL mode fails with "database is locked" instead of waiting, so
    we take over BEGIN and issue ``BEGIN IMMEDIATE`` for sessions opened with :func:`write_session`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, json_serializer=_dumps, pool_pre_ping=True)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, json_serializer=_dumps, connect_args={"timeout": busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session for one unit of work that writes: committed on success, rolled back on error."""
    with Session(engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False) as session:
        with session.begin():
            yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading; whatever it began is rolled back when it closes."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
