"""Fixtures of the whole tree: real databases (a SQLite file, and a PostgreSQL database when a server is given; see
tests/databases.py) with their schema copied from a template migrated once a session, the real data of
../shared/data, the review queue several folders start from, and the tiny answering model (built once, cached on
disk: tests/model_cache.py). Fixtures of one folder live in that folder's conftest.py; what is not a fixture, in
tests/helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from db import migrate
from db.engine import make_engine, read_session
from db.models import Record, User
from pipeline.accounts.users import add_user
from pipeline.augment.filter_chain import filter_round
from pipeline.augment.filters.duplicates import DuplicateFilter
from pipeline.augment.filters.length import LengthFilter
from pipeline.augment.rewriting import RewriteConfig, generate_round
from pipeline.database import init_database
from pipeline.ingest.importer import import_file
from pipeline.mining.kfold import MiningConfig, mine
from tests.databases import BACKENDS, SQLITE_ONLY, SchemaTemplates, fresh_pg_database
from tests.helpers import SHARED_DATA, Cli, Counting, Oracle
from tests.model_cache import build_key, cached_build


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data; its absence is a failure, not a skip (CI always has ../shared beside the clone)."""
    if not (SHARED_DATA / "ccl25_train_206.json").is_file():
        pytest.fail(f"the real data is missing: expected {SHARED_DATA}/ccl25_train_206.json")
    return SHARED_DATA


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that reaches ``db_url`` (also through ``engine`` or ``cli``) runs on each backend."""
    if "db_url" in metafunc.fixturenames:
        once = metafunc.definition.get_closest_marker(SQLITE_ONLY) is not None
        metafunc.parametrize("db_url", BACKENDS[:1] if once else BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def schema_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchemaTemplates]:
    templates = SchemaTemplates(tmp_path_factory.mktemp("schema-template"), migrate.upgrade)
    yield templates
    templates.close()


@pytest.fixture(autouse=True)
def _schema_from_template(schema_templates: SchemaTemplates, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upgrading an empty database to the head copies the session's template (which Alembic migrated) instead of
    running every migration again; any other upgrade runs Alembic. tests/db/ turns this off."""

    def upgrade(engine: Engine, revision: str = "head") -> None:
        if revision == "head" and schema_templates.copy_into(engine):
            return
        schema_templates.upgrade(engine, revision)

    monkeypatch.setattr(migrate, "upgrade", upgrade)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path, schema_templates: SchemaTemplates) -> Iterator[str]:
    """An empty database (a test of ``engine`` gets the migrated template's copy at once)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sradit.db'}"
        return
    template = schema_templates.pg_template() if "engine" in request.fixturenames else None
    with fresh_pg_database(template) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    init_database(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Cli:
    return Cli(db_url, tmp_path)


@pytest.fixture
def queue(engine: Engine, shared_data: Path) -> dict[str, int]:
    """Round 1 with 3 badcases × 4 variants that pass length/duplicate filters; four experts."""
    import_file(engine, shared_data / "ccl25_train_206.json", "train", "t", 2**30)
    with read_session(engine) as s:
        ids = list(s.scalars(select(Record.case_id).where(Record.principal_code != "I50.900x018").limit(3)))
    learner = Oracle(set(ids), set(), [])
    mine(engine, lambda _fold: learner, MiningConfig(), "t")
    generate_round(engine, RewriteConfig(round_no=1, n=4), Counting(), "t")
    filter_round(engine, 1, [DuplicateFilter(99.99, 99.99), LengthFilter()], "t")
    for name in ("e1", "e2", "e3", "eng"):
        add_user(engine, name, "engineer" if name == "eng" else "expert", "password123", "t")
    with read_session(engine) as s:
        return {u.name: u.id for u in s.scalars(select(User))}


@pytest.fixture(scope="session")
def tiny_answering_model() -> Path:
    """The tiny offline Qwen2 taught to answer both prompts (`sradit model tiny --answers`): a few CPU minutes of
    real TRL SFT, built once and cached on disk by a hash of its build inputs (tests/model_cache.py), shared by
    every test of the LLM paths and every xdist worker. Tests read it; none may write into it."""
    from training.tiny_answers import CONFIG, build_answering_model

    key = build_key(["training.tiny_answers"], [CONFIG], {"seed": 0, "steps": None})
    folder = cached_build(
        "tiny-answers", key, lambda out: build_answering_model(out / "tiny", seed=0, log=lambda _line: None)
    )
    return folder / "tiny"
