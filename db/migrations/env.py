"""Alembic environment: runs on the engine handed in by db.migrate (or the URL of alembic.ini)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from db import models  # noqa: F401  (registers every table on the metadata)
from db.base import Base
from db.engine import make_engine

config = context.config
engine: Engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url") or "")

with engine.execution_options(sradit_write=True).connect() as connection:
    # SQLite alters a table by copying it and dropping the original; with foreign keys on, dropping a parent
    # table (rounds, say) would delete every child row through ON DELETE CASCADE. They are off while the
    # migrations run (the pragma is ignored inside a transaction, so it goes to the driver before any BEGIN) and
    # every reference is checked before they are back on.
    raw = connection.connection.driver_connection if connection.dialect.name == "sqlite" else None
    if raw is not None:
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if raw is not None:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")
    finally:
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=ON")
