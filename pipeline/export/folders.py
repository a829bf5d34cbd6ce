"""Export folders that stay consistent with their database rows when the process is killed at any point.

An export is written in a hidden temporary folder holding a marker file, ``.sradit-writing``, that the
writing process keeps locked (``flock``) until it is done. The database row is inserted and the folder
renamed to its final name in one transaction, the rename last, so the row and the folder appear together at
the commit; the marker is removed after it. A kill releases the lock, so the next export into the same folder
(:func:`recover`) can tell a dead writer's leftovers from a live one's and clean them up:

- a hidden temporary folder whose marker is not locked: killed while writing, removed;
- a final folder whose marker is not locked and with no row: killed between rename and commit, removed;
- a final folder whose marker is not locked and with its row: killed after the commit, the marker removed.

The database row is the truth: pages list rows, never folders, and :func:`sweep` runs this in every export folder
when the app starts.

Recovery takes the same lock as the writer's transaction (the round's row ``FOR UPDATE`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite) before deciding that a folder has no row, so a commit still in flight is seen.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from db.engine import read_session, write_session
from db.models import DatasetExport
from pipeline.rounds.lookup import find_round

WRITING = ".sradit-writing"
#: A hidden export folder with no marker yet: created a moment ago by a live writer, or left by one killed
#: in that moment. Only such folders older than this are taken as left behind.
STALE_S = 60.0
_NAME = re.compile(r"\.?round(\d+)-(.+)-v(\d+)(?:-fold\d+)?(?:\..+)?")


def start(out_dir: Path, name: str) -> tuple[Path, IO[str]]:
    """A hidden temporary folder for the export ``name`` and its marker, locked until :func:`finish`."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out_dir))
    marker = (tmp / WRITING).open("w", encoding="utf-8")
    fcntl.flock(marker, fcntl.LOCK_EX)
    marker.write(f"pid {os.getpid()}\n")
    marker.flush()
    return tmp, marker


def finish(folder: Path, marker: IO[str]) -> None:
    """After the commit: the folder is a complete, registered export."""
    (folder / WRITING).unlink(missing_ok=True)
    marker.close()


def lock_round(s: Session, round_no: int) -> None:
    """Serialise export commits and recovery of one round (PostgreSQL; SQLite's BEGIN IMMEDIATE already does)."""
    find_round(s, round_no, lock=True)


def pause_point(name: str) -> None:
    """Tests only: with SRADIT_TEST_EXPORT_PAUSE=name, say so on stderr and wait here to be killed."""
    if os.environ.get("SRADIT_TEST_EXPORT_PAUSE") == name:
        print(f"export paused at {name}", file=sys.stderr, flush=True)
        time.sleep(3600)


def _writer_alive(folder: Path) -> bool:
    try:
        with (folder / WRITING).open("r", encoding="utf-8") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:  # finished (or removed) meanwhile
        return True


def recover(engine: Engine, out_dir: Path) -> list[str]:
    """Clean up after exports into ``out_dir`` killed part-way; returns what was done, one line each."""
    done: list[str] = []
    if not out_dir.is_dir():
        return done
    for folder in sorted(out_dir.iterdir()):
        match = _NAME.fullmatch(folder.name)
        if match is None or not folder.is_dir():
            continue
        hidden = folder.name.startswith(".")
        if not (folder / WRITING).exists():
            if hidden and time.time() - folder.stat().st_mtime > STALE_S:
                shutil.rmtree(folder, ignore_errors=True)
                done.append(f"removed {folder} (an export killed as it started)")
            continue
        if _writer_alive(folder):
            continue
        if hidden:
            shutil.rmtree(folder, ignore_errors=True)
            done.append(f"removed {folder} (an export killed while writing)")
            continue
        round_no, fmt, version = int(match[1]), match[2], int(match[3])
        with write_session(engine) as s:
            lock_round(s, round_no)
            paths = s.scalars(
                select(DatasetExport.path).where(
                    DatasetExport.round_no == round_no, DatasetExport.format == fmt, DatasetExport.version == version
                )
            ).all()
            registered = any(Path(p).resolve() == folder.resolve() for p in paths)
            if registered:
                (folder / WRITING).unlink(missing_ok=True)
                done.append(f"completed {folder} (registered; its writer was killed after the commit)")
            else:
                shutil.rmtree(folder, ignore_errors=True)
                done.append(f"removed {folder} (an export killed before it was registered)")
    return done


def sweep(engine: Engine, default_dir: Path) -> list[str]:
    """:func:`recover` in every folder exports go to — the default one and every registered export's — when the app
    or a command starts, so a kill's leftovers do not wait for the next export into their folder."""
    with read_session(engine) as s:
        parents = {Path(p).parent for p in s.scalars(select(DatasetExport.path))}
    return [line for out_dir in sorted({default_dir, *parents}) for line in recover(engine, out_dir)]
