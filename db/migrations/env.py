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
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
