"""The demo database (app.services.demo.build_demo: mining, rewriting and filtering, about 5 s) built once per test
process and copied for each test that starts from it, with its workspace folder (the export's files, the jobs'
metrics) and the export's path moved to the copy's own workspace.

Only for tests that start from the demo: the demo's own tests (tests/app/services/test_demo.py, `sradit demo`) build
it for real, and tests on PostgreSQL build it there."""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from contextlib import closing
from functools import cache
from pathlib import Path

from app.services.demo import build_demo
from db.engine import make_engine
from pipeline.settings import Settings


@cache
def _template() -> Settings:
    folder = Path(tempfile.mkdtemp(prefix="sradit-demo-"))
    atexit.register(shutil.rmtree, folder, True)
    url = f"sqlite:///{folder / 'demo.db'}"
    settings = Settings(db_url=url, data_dir=folder / "var")
    engine = make_engine(url)
    build_demo(engine, settings, force=False)
    engine.dispose()
    return settings


def copy_demo(db_path: Path, data_dir: Path) -> str:
    """A copy of the demo at ``db_path`` (a new SQLite file) whose workspace is under ``data_dir``; its URL."""
    template = _template()
    url = f"sqlite:///{db_path}"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(template.db_url.removeprefix("sqlite:///"))) as src:
        with closing(sqlite3.connect(db_path)) as dst:
            src.backup(dst)
    workspace = Settings(db_url=url, data_dir=data_dir).workspace
    shutil.copytree(template.workspace, workspace, symlinks=True)
    with closing(sqlite3.connect(db_path)) as db, db:  # the export's files now live in the copy's workspace
        db.execute("UPDATE dataset_exports SET path = replace(path, ?, ?)", (str(template.workspace), str(workspace)))
    return url
