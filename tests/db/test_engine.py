"""The engine factory's SQLite settings, and writers that do not lose each other's rows (on both backends)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select, text

from db.engine import make_engine, read_session, write_session
from db.migrate import upgrade
from db.models import AuditEntry


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}", busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.scalar(text("PRAGMA journal_mode")) == "wal"
        assert conn.scalar(text("PRAGMA foreign_keys")) == 1
        assert conn.scalar(text("PRAGMA busy_timeout")) == 1234
    assert (tmp_path / "sub" / "x.db").exists()  # the folder was created


def test_concurrent_read_then_write_transactions_lose_nothing(db_url: str) -> None:
    """8 threads each read the count then write, 25 times: deferred transactions would hit
    "database is locked" on SQLite; BEGIN IMMEDIATE makes them queue instead."""
    engine = make_engine(db_url)
    upgrade(engine)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                with write_session(engine) as s:
                    s.scalar(select(func.count()).select_from(AuditEntry))
                    s.add(AuditEntry(actor=f"t{n}", action="test", target=str(i)))
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 200


def test_failed_write_session_rolls_back(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    try:
        with write_session(engine) as s:
            s.add(AuditEntry(actor="x", action="y"))
            s.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0
