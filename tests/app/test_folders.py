"""Folders typed on a page: inside the data folder they resolve; `..`, other folders and symbolic links
leading out are refused with a message; an admin's SRADIT_PAGE_FOLDERS=anywhere lifts the confinement."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.folders import confine
from pipeline.errors import InputError, SraditError
from pipeline.settings import Settings


@pytest.fixture
def data(tmp_path: Path) -> Settings:
    (tmp_path / "var" / "db-1" / "exports").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "var" / "db-1" / "link").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "var" / "db-1" / "inner").symlink_to(tmp_path / "var" / "db-1" / "exports")
    return Settings(data_dir=tmp_path / "var")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("var/db-1/exports", "var/db-1/exports"),
        ("var/db-1/new/folder", "var/db-1/new/folder"),  # not there yet: the export makes it
        ("var", "var"),
        ("var/db-1/inner/x", "var/db-1/exports/x"),  # a link that stays inside is followed
    ],
)
def test_folders_inside_the_data_folder_resolve(data: Settings, typed: str, expected: str) -> None:
    root = data.data_dir.parent
    assert confine(f"  {root / typed} ", data) == (root / expected).resolve()  # typed with spaces around


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("var/db-1/../../elsewhere", "'..' is not allowed; folders typed here must lie inside the data folder"),
        ("var/db-1/exports/..", "'..' is not allowed"),
        ("elsewhere", "is outside the data folder; folders typed here must lie inside the data folder"),
        ("/etc", "/etc is outside the data folder"),
        ("var/db-1/link", "a symbolic link on the way leads outside the data folder"),
        ("var/db-1/link/deeper", "a symbolic link on the way leads outside the data folder"),
        ("varx", "is outside the data folder"),  # a sibling whose name starts like the data folder's
    ],
)
def test_escapes_are_refused_with_a_message(data: Settings, typed: str, message: str) -> None:
    root = data.data_dir.parent
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        confine(typed if typed.startswith("/") else str(root / typed), data)


def test_a_blank_folder_is_refused(data: Settings) -> None:
    with pytest.raises(InputError, match="type a folder"):
        confine("  ", data)


def test_an_admin_can_allow_any_folder(data: Settings) -> None:
    anywhere = Settings.from_env({"SRADIT_PAGE_FOLDERS": "anywhere", "SRADIT_DATA_DIR": str(data.data_dir)})
    assert confine("/etc/../tmp", anywhere) == Path("/etc/../tmp")
    with pytest.raises(SraditError, match="SRADIT_PAGE_FOLDERS='everywhere' is not one of data, anywhere"):
        Settings.from_env({"SRADIT_PAGE_FOLDERS": "everywhere"})
