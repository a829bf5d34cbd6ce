"""Alembic environment: runs on the engine handed in by db.migrate (or the URL of alembic.ini)."""

from __future__ import annotations

from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, text

from db import models  # noqa: F401  (registers every table on the metadata)
from db.base import Base
from db.engine import make_engine

config = context.config
engine: Engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url") or "")


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    """SQLite alters a table (batch mode) by copying it and dropping the old one, and with foreign keys on that
    drop fires the ON DELETE actions of every table referring to it: a round's badcases would be deleted, runs
    would lose their job. The pragma is a no-op inside a transaction, so it is set on the driver's connection
    before one begins (as SQLite's own procedure for altering tables says)."""
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_foreign_keys(ctx: MigrationContext, *_args: Any, **_kwargs: Any) -> None:
    """Run inside each migration's transaction, before it commits: with the checks off while migrating, a
    migration that broke a reference must still not commit."""
    assert ctx.connection is not None
    broken = ctx.connection.execute(text("PRAGMA foreign_key_check")).all()
    if broken:
        raise RuntimeError(f"the migration left rows pointing at rows that do not exist: {broken[:10]}")


with engine.execution_options(sradit_write=True).connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(connection, on=False)
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
            compare_type=True,
            on_version_apply=_check_foreign_keys if sqlite else (),
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if sqlite:
            # Each migration committed its own transaction (SQLite's DDL is not transactional to alembic); what
            # alembic's reads began since is ended, or the pragma below would be a no-op and the pooled
            # connection would go on without foreign keys.
            if connection.in_transaction():
                connection.rollback()
            _sqlite_foreign_keys(connection, on=True)
