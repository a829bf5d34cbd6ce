"""Opening the database: the engine from settings, creating/migrating the schema, seeding the label space."""

from __future__ import annotations

from sqlalchemy import Engine, delete, inspect

from db import migrate
from db.engine import make_engine, write_session
from db.models import LabelCode
from pipeline.domain import label_space
from pipeline.errors import SraditError
from pipeline.settings import Settings


def engine_for(settings: Settings) -> Engine:
    return make_engine(settings.db_url, busy_timeout_ms=settings.busy_timeout_ms)


def init_database(engine: Engine) -> str | None:
    """Create or migrate the schema to the newest revision and store the label space; idempotent."""
    migrate.upgrade(engine)
    with write_session(engine) as s:
        s.execute(delete(LabelCode))
        s.add_all(LabelCode(code=c, role="principal", name=n) for c, n in label_space.PRINCIPAL.items())
        s.add_all(LabelCode(code=c, role="other", name=n) for c, n in label_space.OTHER.items())
    return migrate.current_revision(engine)


def require_schema(engine: Engine) -> None:
    """Refuse to work on a database that is missing or older than this version of the code."""
    if "alembic_version" not in inspect(engine).get_table_names():
        raise SraditError(f"the database {engine.url!r} has no schema yet: run `sradit db init` first")
    if not migrate.is_current(engine):
        raise SraditError(
            f"the database {engine.url!r} is at revision {migrate.current_revision(engine)}, "
            f"this version needs {migrate.head_revision(engine)}: run `sradit db init` to upgrade it"
        )
