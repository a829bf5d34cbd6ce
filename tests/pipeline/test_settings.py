"""The settings object: every field from SRADIT_*, bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import SraditError
from pipeline.settings import Settings


def test_values_come_from_the_environment() -> None:
    s = Settings.from_env({"SRADIT_WORKERS": "3", "SRADIT_DATA_DIR": "/tmp/x", "SRADIT_REVIEWS_REQUIRED": "2"})
    assert (s.workers, s.data_dir, s.reviews_required) == (3, Path("/tmp/x"), 2)
    assert Settings.from_env({}).workers == 0  # one process per core
    assert Settings.from_env({}).session_hours == 12
    assert Settings.from_env({"SRADIT_SESSION_HOURS": "8"}).session_hours == 8


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SRADIT_WORKERS": "two"}, "SRADIT_WORKERS='two' is not a valid int"),
        ({"SRADIT_WORKERS": "-1"}, "SRADIT_WORKERS=-1 must be at least 0"),
        ({"SRADIT_REVIEWS_REQUIRED": "0"}, "SRADIT_REVIEWS_REQUIRED=0 must be at least 1"),
        ({"SRADIT_SESSION_HOURS": "0"}, "SRADIT_SESSION_HOURS=0 must be at least 1"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SraditError) as e:
        Settings.from_env(env)
    assert str(e.value) == message


def test_two_databases_sharing_a_data_folder_keep_their_folders_apart(tmp_path: Path) -> None:
    from pipeline.jobs.runner import job_dir

    a = Settings(db_url=f"sqlite:///{tmp_path / 'a' / 'sradit.db'}", data_dir=tmp_path / "var")
    b = Settings(db_url=f"sqlite:///{tmp_path / 'b' / 'sradit.db'}", data_dir=tmp_path / "var")
    assert a.workspace != b.workspace and a.workspace.parent == b.workspace.parent == tmp_path / "var"
    assert job_dir(a, 1) != job_dir(b, 1)  # job 1 of each database
    assert a.workspace.name.startswith("sradit-")
    pg = Settings(db_url="postgresql+psycopg://u:secret@db.local/sradit", data_dir=tmp_path / "var")
    same = Settings(db_url="postgresql+psycopg://u:other@db.local/sradit", data_dir=tmp_path / "var")
    assert pg.workspace == same.workspace and "secret" not in str(pg.workspace)  # the password moves nothing
