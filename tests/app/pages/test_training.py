"""The Training page, rendered by Streamlit's AppTest on a real demo database: the base model folder typed on
the page must lie inside the data folder (`..`, another folder or a symbolic link out is refused with a
message and nothing can be started), unless the admin set SRADIT_PAGE_FOLDERS=anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.engine import make_engine, read_session
from db.models import Job
from pipeline.export.datasets import ExportConfig, export
from tests.demo_cache import copy_demo
from tests.helpers import ROOT, shown

PAGE = str(ROOT / "app" / "pages" / "training.py")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("training_page")
    url = copy_demo(root / "demo.db", root / "var")
    (root / "models" / "qwen").mkdir(parents=True)
    (root / "var" / "models-link").symlink_to(root / "models")
    return url, root


def _typed(demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, folder: str) -> AppTest:
    url, root = demo
    monkeypatch.setenv("SRADIT_DB_URL", url)
    monkeypatch.setenv("SRADIT_DATA_DIR", str(root / "var"))
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in {"user_id": 2, "user_name": "engineer", "user_role": "engineer"}.items():
        at.session_state[key] = value
    at.run()
    next(t for t in at.text_input if t.label == "Base model folder").input(folder).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("var/../models/qwen", "'..' is not allowed; folders typed here must lie inside the data folder"),
        ("models/qwen", "models/qwen is outside the data folder"),
        ("var/models-link/qwen", "a symbolic link on the way leads outside the data folder"),
    ],
)
def test_a_model_folder_outside_the_data_folder_is_refused(
    demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, typed: str, message: str
) -> None:
    at = _typed(demo, monkeypatch, str(demo[1] / typed))
    assert [shown(e.value) for e in at.error if message in shown(e.value)], [shown(e.value) for e in at.error]
    assert not [b for b in at.button if b.label in ("Start training",) or b.label.startswith("Build the tiny")]


def test_a_folder_inside_the_data_folder_is_taken(demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = demo[1] / "var" / "models" / "mine"
    at = _typed(demo, monkeypatch, str(folder))  # not there yet: the page offers to build the tiny model there
    assert [shown(w.value) for w in at.warning if f"{folder.resolve()} is not a model folder yet" in shown(w.value)]
    assert [b for b in at.button if b.label.startswith("Build the tiny")]
    folder.mkdir(parents=True)
    at = _typed(demo, monkeypatch, str(folder))
    assert not at.error, [shown(e.value) for e in at.error]
    assert str(folder.resolve()) in at.code[0].value  # the exact command trains from it


def test_an_admin_lets_the_page_use_any_folder(demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRADIT_PAGE_FOLDERS", "anywhere")
    folder = demo[1] / "models" / "qwen"
    at = _typed(demo, monkeypatch, str(folder))
    assert not at.error, [shown(e.value) for e in at.error]
    assert str(folder) in at.code[0].value  # the exact command trains from it


def test_the_paper_s_trainer_on_an_export_shows_its_command_and_queues_its_job(
    demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, root = demo
    engine = make_engine(url)
    made = export(engine, ExportConfig(1, "llamafactory", root / "var" / "exports"), "t")
    base = root / "var" / "models" / "base"
    base.mkdir(parents=True, exist_ok=True)
    for key, value in {"DB_URL": url, "DATA_DIR": str(root / "var"), "PAUSED_LANES": "gpu"}.items():
        monkeypatch.setenv(f"SRADIT_{key}", value)
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in {"user_id": 2, "user_name": "engineer", "user_role": "engineer"}.items():
        at.session_state[key] = value
    at.run()
    at.radio[0].set_value("llamafactory").run()
    at.text_input(key="fw_model").input(str(base)).run()
    assert not at.exception and not at.error, [shown(e.value) for e in at.error]
    command = at.code[0].value
    assert command.startswith(f"llamafactory-cli train {made.path}/llamafactory_sft.yaml model_name_or_path={base}")
    at.button(key="fw_run").click().run()
    assert [shown(s.value) for s in at.success if "queued" in shown(s.value)]
    with read_session(engine) as s:
        job = s.scalars(select(Job).order_by(Job.id.desc())).first()
    assert job is not None and (job.kind, job.lane, job.status) == ("framework-train", "gpu", "queued")
    assert job.config["params"]["export_id"] == made.export_id
    engine.dispose()
