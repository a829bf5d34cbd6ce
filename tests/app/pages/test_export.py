"""The Export page, rendered by Streamlit's AppTest on a real demo database: an export into the data folder is
written and listed; a folder typed outside it (`..`, another folder, a symbolic link out) is refused with a
message and writes nothing, unless the admin set SRADIT_PAGE_FOLDERS=anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from pipeline.export.datasets import list_exports
from pipeline.settings import Settings
from tests.demo_cache import copy_demo
from tests.helpers import ROOT, shown

PAGE = str(ROOT / "app" / "pages" / "export.py")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    tmp_path = tmp_path_factory.mktemp("export_page")
    url = copy_demo(tmp_path / "demo.db", tmp_path / "var")
    (tmp_path / "outside").mkdir()
    (tmp_path / "var" / "out-link").symlink_to(tmp_path / "outside")
    return url, tmp_path


def _page(demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The Export page on the demo database, drawn once for the demo engineer."""
    url, root = demo
    monkeypatch.setenv("SRADIT_DB_URL", url)
    monkeypatch.setenv("SRADIT_DATA_DIR", str(root / "var"))
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in {"user_id": 2, "user_name": "engineer", "user_role": "engineer"}.items():
        at.session_state[key] = value
    return at.run()


def _export_to(demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, folder: str) -> AppTest:
    at = _page(demo, monkeypatch)
    next(t for t in at.text_input if t.label == "Folder").input(folder)
    next(b for b in at.button if b.label == "Export").click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("var/../outside", "'..' is not allowed; folders typed here must lie inside the data folder"),
        ("outside", "outside is outside the data folder"),
        ("var/out-link", "a symbolic link on the way leads outside the data folder"),
        ("var/a\x00b", "a folder name cannot hold control characters"),  # was the generic error box
    ],
)
def test_a_folder_outside_the_data_folder_is_refused_and_nothing_is_written(
    demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, typed: str, message: str
) -> None:
    url, root = demo
    before = len(list_exports(make_engine(url)))
    at = _export_to(demo, monkeypatch, str(root / typed))
    assert [shown(e.value) for e in at.error if message in shown(e.value)], [shown(e.value) for e in at.error]
    assert not at.success
    assert list((root / "outside").iterdir()) == []
    assert len(list_exports(make_engine(url))) == before


def test_an_export_inside_the_data_folder_is_written_and_listed(
    demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, root = demo
    at = _export_to(demo, monkeypatch, str(root / "var" / "team-exports"))
    assert not at.error, [shown(e.value) for e in at.error]
    written = (root / "var" / "team-exports").resolve()
    assert [shown(s.value) for s in at.success if f"written to {written}/round1-" in shown(s.value)]
    assert list_exports(make_engine(url))[0].path.startswith(str(written))
    # Counts before what they count, not raw keys (`train_original_records 60`); versions named, not `export 7`.
    said = shown(at.success[0].value)
    assert "train original records" in said and "train_original_records" not in said
    newest, *_ = versions = list_exports(make_engine(url))
    said = [shown(m.value) for m in at.markdown]
    assert f"#{newest.id} · round 1 · trl-sft v{newest.version} · {newest.row_counts['train']} rows" in said
    # A button per version, zipped at its click: no choice to race a rerun (a chosen version and a click during
    # the rerun downloaded the previous choice), and nothing zipped while the page draws.
    buttons = [shown(b.proto.label) for b in at.get("download_button")]
    assert buttons == [f"Download {Path(v.path).name}.zip" for v in versions], buttons
    assert all(b.proto.HasField("deferred_file_id") for b in at.get("download_button"))


def test_an_admin_lets_pages_write_anywhere(demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRADIT_PAGE_FOLDERS", "anywhere")
    url, root = demo
    at = _export_to(demo, monkeypatch, str(root / "admin-choice"))
    assert not at.error, [shown(e.value) for e in at.error]
    assert [p.name for p in (root / "admin-choice").iterdir()][0].startswith("round1-")


def test_the_page_lists_rows_and_its_start_sweeps_a_killed_export_s_folder(
    demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder left by an export killed between rename and commit (a final name, its writer's marker, no row) is
    removed when the app starts, and never listed: the versions table is the database's rows."""
    from pipeline.export.folders import WRITING

    url, root = demo
    default = Settings(db_url=url, data_dir=root / "var").workspace / "exports"
    left = default / "round1-trl-sft-v99"
    left.mkdir(parents=True)
    (left / WRITING).write_text("pid 1\n", encoding="utf-8")
    (left / "train.jsonl").write_text("{}\n", encoding="utf-8")
    at = _page(demo, monkeypatch)
    assert not at.exception, at.exception
    assert not left.exists()
    listed = set(at.dataframe[0].value["path"]) if at.dataframe else set()
    assert listed == {e.path for e in list_exports(make_engine(url))}
