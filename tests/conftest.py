"""Shared fixtures: real databases (a SQLite file, and a PostgreSQL database when a server is given; see
tests/databases.py), and the real data of ../shared/data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, MetaData, func, select

from app.cli import main
from db.engine import make_engine
from pipeline.database import init_database
from tests.databases import BACKENDS, SQLITE_ONLY, fresh_pg_database

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


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


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sradit.db'}"
        return
    with fresh_pg_database() as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    init_database(eng)
    yield eng
    eng.dispose()


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table, to show that a refused operation wrote nothing."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {name: conn.scalar(select(func.count()).select_from(t)) or 0 for name, t in meta.tables.items()}


class Cli:
    """Runs ``sradit`` in-process against one database URL."""

    def __init__(self, db_url: str, tmp_path: Path) -> None:
        self.env = {"SRADIT_DB_URL": db_url, "SRADIT_DATA_DIR": str(tmp_path / "var"), "SRADIT_DEBUG": ""}
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Result:
        result = self.runner.invoke(main, list(args), env=self.env, catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"sradit {' '.join(args)} exited {result.exit_code}:\n{result.output}")
        return result


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Cli:
    return Cli(db_url, tmp_path)


@pytest.fixture(scope="session")
def tiny_answering_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny offline Qwen2 taught to answer both prompts (`sradit model tiny --answers`), built once a session:
    a few CPU minutes of real TRL SFT, shared by every test of the LLM paths."""
    from training.tiny_answers import build_answering_model

    # Local iteration only: reuse a model built earlier (`sradit model tiny --out DIR --answers`).
    if os.environ.get("SRADIT_TEST_TINY_ANSWERS") and not os.environ.get("CI"):
        return Path(os.environ["SRADIT_TEST_TINY_ANSWERS"])
    built = build_answering_model(tmp_path_factory.mktemp("tiny_answers") / "tiny", log=lambda _line: None)
    return Path(built["path"])
