"""A full non-interactive round on the demo data, through every stage; killed mid-round, it resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from db.engine import make_engine, read_session
from db.models import Badcase, Dataset, Job, Record, Selection, Variant
from pipeline.demo.synthetic import generate_records
from pipeline.settings import Settings
from tests.helpers import ROOT


def _demo_records(tmp_path: Path) -> Path:
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(generate_records(60, 0, seed=0), ensure_ascii=False), encoding="utf-8")
    return path


def test_killed_mid_round_it_resumes_without_duplicates(cli: Any, db_url: str, tmp_path: Path) -> None:
    cli("db", "init")
    cli("import", str(_demo_records(tmp_path)), "--dataset", "train")
    n = 30
    args = ["round", "start", "--non-interactive", "--threshold", "0.8", "--n", str(n)]
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("sradit")), *args],
        cwd=ROOT,
        env={**os.environ, **cli.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    engine = make_engine(db_url)
    deadline = time.monotonic() + 240
    while True:  # kill the whole process group once generation is under way
        with read_session(engine) as s:
            made = s.scalar(select(func.count()).select_from(Variant)) or 0
        if made > 0 or proc.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert made > 0, "generation never started"

    out = cli(*args).output  # the same command again: the round resumes where it was
    assert "round 1: done" in out
    with read_session(engine) as s:
        per_badcase = s.execute(
            select(Variant.badcase_id, func.count(), func.count(func.distinct(Variant.seq))).group_by(
                Variant.badcase_id
            )
        ).all()
        badcases = s.scalar(select(func.count()).select_from(Badcase)) or 0
        assert badcases > 0 and len(per_badcase) == badcases
        assert all(total == distinct == n for _b, total, distinct in per_badcase)  # no duplicates, none missing
        killed = [j.status for j in s.scalars(select(Job).where(Job.kind == "rewrite"))]
        assert sorted(killed) == ["failed", "succeeded"]  # the killed run is reconciled, its rerun succeeded
        selections = s.scalars(select(Selection)).all()
        assert selections and {x.method for x in selections} == {"filter"}  # marked: no expert approved these
        augmented = s.scalar(select(Dataset).where(Dataset.name == "train@r1"))
        assert augmented is not None
        added = s.scalar(select(func.count()).where(Record.dataset_id == augmented.id, Record.origin == "variant"))
        assert added == len(selections)
    workspace = Settings.from_env(cli.env).workspace
    report = workspace / "rounds" / "round-1" / "report.md"
    assert "approved by filter chain" in report.read_text(encoding="utf-8")
    assert (workspace / "models" / "round-1" / "baseline").is_dir()
    status = cli("round", "status").output
    assert "round 1  done" in status and "non-interactive" in status and "→" in status

    # The next round mines the augmented dataset.
    assert "round 2: done" in cli(*args[:-2], "--n", "3").output
    assert "dataset train@r1" in cli("round", "status").output
