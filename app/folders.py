"""Folders typed on a page: confined to the data folder, so that a page cannot write or read anywhere on the
server (`..`, an absolute path elsewhere, a symbolic link that leads out). An admin of the server lifts this
with SRADIT_PAGE_FOLDERS=anywhere; the command line is not confined (`--out` is where it writes)."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.errors import InputError
from pipeline.settings import Settings

FOLDER_HELP = "Inside the data folder (SRADIT_DATA_DIR) unless the server's admin set SRADIT_PAGE_FOLDERS=anywhere."


def confine(typed: str, settings: Settings) -> Path:
    """The folder a user typed, resolved; refused with a message unless it lies inside the data folder."""
    text = typed.strip()
    if not text:
        raise InputError("type a folder")
    if not text.isprintable():  # a NUL byte reached the generic error box from inside the path library
        raise InputError(f"{text!r}: a folder name cannot hold control characters")
    if settings.page_folders == "anywhere":
        return Path(text)
    root = settings.data_dir.resolve()
    where = f"folders typed here must lie inside the data folder {root} (SRADIT_DATA_DIR)"
    path = Path(text)
    if ".." in path.parts:
        raise InputError(f"{text}: '..' is not allowed; {where}")
    absolute = Path(os.path.abspath(path))
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        if absolute.is_relative_to(root) or absolute.is_relative_to(settings.data_dir.absolute()):
            raise InputError(f"{text}: a symbolic link on the way leads outside the data folder ({resolved}); {where}")
        raise InputError(f"{text} is outside the data folder; {where}")
    return resolved


def confinement(settings: Settings) -> Path | None:
    """The folder a page's writes must stay inside when they happen (None: anywhere), checked again at use: a
    folder swapped for a symbolic link after :func:`confine` must not take the write out."""
    return None if settings.page_folders == "anywhere" else settings.data_dir.resolve()


def str_or_none(path: Path | None) -> str | None:
    """A path for a job's parameters (stored as JSON)."""
    return None if path is None else str(path)
