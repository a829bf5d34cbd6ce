"""Exports killed at any point: a real `sradit export` process is paused at a named point and killed with
SIGKILL; afterwards either the export is complete and registered or nothing is left that the next export does
not clean up, and the next export works.

How the kill points work: with SRADIT_TEST_EXPORT_PAUSE=<point> the export process prints "export paused at
<point>" on stderr and sleeps there (pipeline/export/folders.py, `pause_point`, used only by tests); the test
waits for that line and kills the process group. The points: `written` (every file in the hidden temporary
folder, before the database transaction), `renamed` (the row inserted and the folder renamed, the transaction
not yet committed), `committed` (the row committed, the writing marker not yet removed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import DatasetExport
from pipeline.errors import InputError
from pipeline.export import folders
from pipeline.export.datasets import ExportConfig, export
from tests.helpers import ROOT


def _killed_at(point: str, out: Path, env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("sradit")), "export", "--round", "1", "--format", "trl-sft"]
        + ["--out", str(out)],
        cwd=ROOT,
        env={**os.environ, **env, "SRADIT_TEST_EXPORT_PAUSE": point, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stderr is not None
        seen = proc.stderr.readline()  # the process's first line on stderr: it is paused, or it failed
        assert seen.strip() == f"export paused at {point}", seen + proc.stderr.read()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _rows(engine: Engine) -> list[tuple[int, str]]:
    with read_session(engine) as s:
        return [(e.version, e.path) for e in s.scalars(select(DatasetExport).order_by(DatasetExport.version))]


@pytest.mark.parametrize(
    ("point", "left_hidden", "left_visible", "rows_after_kill"),
    [
        ("written", 1, [], 0),
        ("renamed", 0, ["round1-trl-sft-v1"], 0),
        ("committed", 0, ["round1-trl-sft-v1"], 1),
    ],
)
def test_an_export_killed_at_any_point_leaves_no_half_export(
    point: str,
    left_hidden: int,
    left_visible: list[str],
    rows_after_kill: int,
    engine: Engine,
    reviewed: Any,
    cli: Any,
    tmp_path: Path,
) -> None:
    out = tmp_path / "exports"
    _killed_at(point, out, cli.env)
    assert len([p for p in out.iterdir() if p.name.startswith(".")]) == left_hidden
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == left_visible
    assert all((out / name / folders.WRITING).exists() for name in left_visible)  # the killed writer's marker
    assert len(_rows(engine)) == rows_after_kill

    # The next export cleans up after the killed one and works.
    r = export(engine, ExportConfig(1, "trl-sft", out), "t")
    registered = _rows(engine)
    assert sorted(p.name for p in out.iterdir()) == [Path(path).name for _, path in registered]
    assert r.version == len(registered) == rows_after_kill + 1
    for _, path in registered:  # every registered folder is complete: it verifies and carries no marker
        assert not (Path(path) / folders.WRITING).exists()
        done = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=path, capture_output=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_kill_s_leftovers_are_swept_at_start_in_every_export_folder(
    engine: Engine, reviewed: Any, cli: Any, tmp_path: Path
) -> None:
    """Killed between rename and commit, a registered-looking folder stayed until the next export into that folder;
    the app's start (app/state.py) sweeps the default folder and every registered export's folder."""
    from pipeline.settings import Settings

    default = Settings.from_env(cli.env).workspace / "exports"
    elsewhere = tmp_path / "elsewhere"
    export(engine, ExportConfig(1, "trl-sft", elsewhere), "t")  # a registered export outside the default folder
    _killed_at("renamed", default, cli.env)
    _killed_at("renamed", elsewhere, cli.env)
    assert (default / "round1-trl-sft-v2").is_dir() and (elsewhere / "round1-trl-sft-v2").is_dir()
    done = folders.sweep(engine, default)
    assert sorted(line.split(" (")[0] for line in done) == sorted(
        [f"removed {default / 'round1-trl-sft-v2'}", f"removed {elsewhere / 'round1-trl-sft-v2'}"]
    )
    assert [p.name for p in elsewhere.iterdir()] == ["round1-trl-sft-v1"] and not any(default.iterdir())
    assert folders.sweep(engine, default) == []


def test_recovery_leaves_a_live_writer_alone(engine: Engine, tmp_path: Path) -> None:
    tmp_path = tmp_path / "exports"
    tmp_path.mkdir()
    tmp, marker = folders.start(tmp_path, "round1-trl-sft-v1")
    old = tmp_path / ".round1-verl-v3.abc123"  # a writer killed before it made its marker, long ago
    old.mkdir()
    os.utime(old, (time.time() - 2 * folders.STALE_S, time.time() - 2 * folders.STALE_S))
    young = tmp_path / ".round1-verl-v4.def456"  # one that may be about to make its marker
    young.mkdir()
    other = tmp_path / "notes"  # not an export: never touched
    other.mkdir()
    assert folders.recover(engine, tmp_path) == [f"removed {old} (an export killed as it started)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([tmp.name, young.name, "notes"])
    marker.close()  # the writer dies: its lock goes with it
    assert folders.recover(engine, tmp_path) == [f"removed {tmp} (an export killed while writing)"]


def test_the_checksum_is_the_sha256_of_sha256sums(engine: Engine, reviewed: Any, tmp_path: Path) -> None:
    import hashlib

    r = export(engine, ExportConfig(1, "competition", tmp_path), "t")
    assert r.checksum == hashlib.sha256((r.path / "SHA256SUMS").read_bytes()).hexdigest()
    assert (r.path / "SHA256SUMS").read_text(encoding="utf-8").splitlines() == [
        f"{hashlib.sha256((r.path / 'train.json').read_bytes()).hexdigest()}  train.json"
    ]


def test_an_export_that_loses_the_race_for_its_version_is_refused_cleanly(
    engine: Engine,
    reviewed: Any,
    cli: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While this export waits after writing its files, a real `sradit export` process takes the same version
    and commits first: this one is refused with a message and leaves nothing behind; the next one takes v2."""
    out = tmp_path / "exports"
    command = [str(Path(sys.executable).with_name("sradit")), "export", "--round", "1", "--format", "trl-sft"]

    def other_export_first(point: str) -> None:
        if point == "written":
            subprocess.run(
                [*command, "--out", str(out)],
                cwd=ROOT,
                env={**os.environ, **cli.env, "PYTHONPATH": str(ROOT)},
                check=True,
                capture_output=True,
            )

    monkeypatch.setattr(folders, "pause_point", other_export_first)
    with pytest.raises(InputError, match="another export of round 1 as trl-sft took version 1 at the same time"):
        export(engine, ExportConfig(1, "trl-sft", out), "t")
    assert [p.name for p in out.iterdir()] == ["round1-trl-sft-v1"] and len(_rows(engine)) == 1
    assert not (out / "round1-trl-sft-v1" / folders.WRITING).exists()
    monkeypatch.undo()
    assert export(engine, ExportConfig(1, "trl-sft", out), "t").version == 2
