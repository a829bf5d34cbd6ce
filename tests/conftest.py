"""Fixtures of the whole tree: real databases (a SQLite file, and a PostgreSQL database when a server is given; see
tests/databases.py) with their schema copied from a template migrated once a session, the real data of
../shared/data, the review queue several folders start from, and the tiny models (built once, cached on disk:
tests/model_cache.py). Fixtures of one folder live in that folder's conftest.py; what is not a fixture, in
tests/helpers.py. The hooks order the modules and start the answering model's build for pytest-xdist (`make test`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

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
from tests import model_cache, scheduling
from tests import ray_head as ray_heads
from tests.databases import BACKENDS, SQLITE_ONLY, SchemaTemplates, fresh_pg_database
from tests.helpers import ROOT, SHARED_DATA, Cli, Counting, Oracle


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data; its absence is a failure, not a skip (CI always has ../shared beside the clone)."""
    if not (SHARED_DATA / "ccl25_train_206.json").is_file():
        pytest.fail(f"the real data is missing: expected {SHARED_DATA}/ccl25_train_206.json")
    return SHARED_DATA


# --- scheduling: `make test` runs pytest-xdist with --dist loadfile ---------------------------------------------------

#: The background build of the answering model this session started (None: it was cached).
BUILDER = pytest.StashKey["subprocess.Popen[bytes] | None"]()
#: Whether the modules of the answering model run first (it is cached) or last (it is being built): decided once,
#: by xdist's controller for every worker (their collections must agree), or by a run in one process.
ANSWERING_FIRST = "sradit_answering_model_first"
#: pytest-timeout's limit for a test of the answering model: the first may wait for the build (minutes) in its setup.
ANSWERING_TIMEOUT = 1800


@cache
def answering_modules() -> frozenset[str]:
    """Test modules (node id paths) that use the tiny answering model, read from the source (so that xdist's
    controller, which collects nothing, knows them too)."""
    return frozenset(
        str(p.relative_to(ROOT))
        for p in (ROOT / "tests").rglob("test_*.py")
        if "tiny_answering_model" in p.read_text(encoding="utf-8")
    )


def _needs_answering_model(nodeids: Iterable[str]) -> bool:
    return any(nodeid.split("::", 1)[0] in answering_modules() for nodeid in nodeids)


@cache
def _answering_model_cached() -> bool:
    return model_cache.is_cached(model_cache.ANSWERS, model_cache.answering_model_key())


def pytest_configure(config: pytest.Config) -> None:
    """Under ``--dist loadfile`` xdist hands the modules out in collection order (made longest first below). An
    xdist worker's torch (and the training jobs and builds it starts) takes its share of the cores: one thread per
    core in every worker oversubscribes the machine, and the threads then spin against each other."""
    if getattr(config.option, "dist", None) == "loadfile":
        config.option.loadscopereorder = False
    if scheduling.Recorder.wanted(config):
        config.pluginmanager.register(scheduling.Recorder(), "sradit_module_seconds")
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, str(threads))
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist's controller tells every worker where the answering model's modules go."""
    node.workerinput[ANSWERING_FIRST] = _answering_model_cached()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest modules first (tests/scheduling.py), except the modules of the answering model when it is not cached:
    those last, so that its background build (below) has the rest of the suite's time to finish before any test
    waits for it. A module's tests stay together and in their order."""
    workerinput = getattr(config, "workerinput", None)
    first = workerinput.get(ANSWERING_FIRST, False) if workerinput is not None else _answering_model_cached()
    position = {scheduling.module_of(item.nodeid): i for i, item in reversed(list(enumerate(items)))}

    def key(item: pytest.Item) -> tuple[bool, float, int]:
        late = not first and _needs_answering_model([item.nodeid])
        return late, -scheduling.seconds(item.nodeid), position[scheduling.module_of(item.nodeid)]

    items.sort(key=key)
    for item in items:
        if "tiny_answering_model" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(ANSWERING_TIMEOUT))


def _start_answering_build(config: pytest.Config, nodeids: Iterable[str]) -> None:
    if config.option.collectonly or BUILDER in config.stash or not _needs_answering_model(nodeids):
        return
    config.stash[BUILDER] = model_cache.start_background_build()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """xdist's controller: start building the answering model as soon as a worker has collected a test using it."""
    _start_answering_build(node.config, ids)


def pytest_collection_finish(session: pytest.Session) -> None:
    """A run in one process does the same (an xdist worker leaves it to the controller)."""
    if not hasattr(session.config, "workerinput"):
        _start_answering_build(session.config, [item.nodeid for item in session.items])


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A build nobody waited for (the run stopped early, or its tests were deselected) is stopped."""
    builder = session.config.stash.get(BUILDER, None)
    if builder is not None and builder.poll() is None:
        builder.terminate()
        builder.wait(60)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that reaches ``db_url`` (also through ``engine`` or ``cli``) runs on each backend."""
    if "db_url" in metafunc.fixturenames:
        once = metafunc.definition.get_closest_marker(SQLITE_ONLY) is not None
        metafunc.parametrize("db_url", BACKENDS[:1] if once else BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def ray_head() -> Iterator[ray_heads.Head]:
    """A Ray head on loopback with token authentication: CI's (``SRADIT_TEST_RAY_ADDRESS``, started by .ci/run), or
    one started for this session and stopped by its process ids. Under CI=true its absence is a failure."""
    address = os.environ.get(ray_heads.ADDRESS_ENV)
    if address:
        yield ray_heads.Head(address, os.environ.get("RAY_AUTH_TOKEN", ""), Path())
        return
    if os.environ.get("CI"):
        pytest.fail(f"{ray_heads.ADDRESS_ENV} is not set: CI starts a Ray head for the tests (.ci/run)")
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="srt", dir="/tmp"))  # short: Ray puts Unix sockets there
    head = ray_heads.start(folder)
    ray_heads.use(head)
    yield head
    ray_heads.stop(folder)


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
def tiny_model() -> Path:
    """The tiny offline Qwen2 with random weights (`sradit model tiny`, seed 0), built once and cached on disk
    (tests/model_cache.py). Tests read it, and train from it into folders of their own; none may write into it."""
    return model_cache.tiny_model()


@pytest.fixture(scope="session")
def tiny_answering_model() -> Path:
    """The tiny offline Qwen2 taught to answer both prompts (`sradit model tiny --answers`): a few CPU minutes of
    real TRL SFT, built once and cached on disk by a hash of its build inputs (tests/model_cache.py), shared by
    every test of the LLM paths and every xdist worker (usually built in the background while other tests run).
    Tests read it; none may write into it."""
    model = model_cache.answering_model()
    assert model is not None
    return model
