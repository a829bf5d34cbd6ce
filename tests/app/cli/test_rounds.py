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
from pipeline.rounds.lookup import get_round
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


def _mined_round(cli: Any, tmp_path: Path, *extra: str) -> None:
    """Round 1 opened by `sradit kfold` (as the demo and engineers do): mined, at stage generating."""
    cli("db", "init")
    cli("import", str(_demo_records(tmp_path)), "--dataset", "train")
    cli("kfold", "--threshold", "0.8", "--folds", "3", *extra)


def _jobs(db_url: str, kind: str) -> list[Job]:
    engine = make_engine(db_url)
    with read_session(engine) as s:
        jobs = list(s.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)))
    engine.dispose()
    return jobs


def test_a_config_given_to_an_open_round_applies_to_the_stages_it_has_not_started(
    cli: Any, db_url: str, tmp_path: Path
) -> None:
    _mined_round(cli, tmp_path)
    config = tmp_path / "round.yaml"
    config.write_text("n: 3\npolicy_model: none\nfolds: 3\n", encoding="utf-8")  # folds as mined: no change
    result = cli("round", "start", "--config", str(config), "--non-interactive")
    assert "round 1: done" in result.output
    engine = make_engine(db_url)
    with read_session(engine) as s:
        counts = s.execute(select(func.count()).select_from(Variant).group_by(Variant.badcase_id)).scalars().all()
    assert counts and set(counts) == {3}  # n 3 from the file, not the stored default 20
    # No bare stage lines on stderr: each progress line names the round's stage.
    assert not {line.strip() for line in result.stderr.splitlines()} & {"rewrite", "filter", "retrain", "kfold"}
    engine.dispose()


def test_a_config_for_a_stage_already_started_is_refused_naming_the_round_and_the_ways_out(
    cli: Any, db_url: str, tmp_path: Path
) -> None:
    _mined_round(cli, tmp_path)
    config = tmp_path / "round.yaml"
    config.write_text("folds: 5\nn: 3\n", encoding="utf-8")
    refused = cli("round", "start", "--config", str(config), ok=False)
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    message = refused.stderr
    assert "round 1 is open" in message and "folds (3 → 5" in message
    assert "sradit round abandon 1" in message and "--continue" in message
    assert _jobs(db_url, "rewrite") == []  # nothing ran
    # The ways out work: abandon, then a new round starts with the file's settings.
    assert "round 1 abandoned" in cli("round", "abandon", "1").output
    cli("round", "start", "--config", str(config), "--policy-model", "none", "--non-interactive")
    status = cli("round", "status").output
    assert "round 1  abandoned" in status and "round 2  done" in status


def test_a_stage_finished_by_hand_is_recorded_and_not_run_again(cli: Any, db_url: str, tmp_path: Path) -> None:
    _mined_round(cli, tmp_path)
    cli("rewrite", "--round", "1", "--n", "2")
    cli("filter", "--round", "1")
    assert "round 1  in_review" in cli("round", "status").output  # it said generating
    cli("round", "start", "--continue", "--non-interactive")
    assert [j.status for j in _jobs(db_url, "filter")] == ["succeeded"]  # not filtered a second time
    assert [j.status for j in _jobs(db_url, "rewrite")] == ["succeeded"]
    assert "round 1  done" in cli("round", "status").output


def test_a_round_mined_from_a_predictions_file_finishes(cli: Any, db_url: str, tmp_path: Path) -> None:
    cli("db", "init")
    cli("import", str(_demo_records(tmp_path)), "--dataset", "train")
    predictions = tmp_path / "oof.json"
    cli("predict", "--dataset", "train", "--out", str(predictions))
    cli("kfold", "--predictions", str(predictions), "--threshold", "0.95", "--folds", "3")
    out = cli("round", "start", "--n", "2", "--policy-model", "none", "--non-interactive").output
    assert "round 1: done" in out
    status = cli("round", "status").output
    assert "round 1  done" in status and "mined file:oof.json" in status and "trained baseline" in status


def test_continue_without_an_open_round_is_refused(cli: Any, tmp_path: Path) -> None:
    cli("db", "init")
    refused = cli("round", "start", "--continue", ok=False)
    assert refused.exit_code != 0 and "there is no unfinished round to continue" in refused.stderr


def test_a_round_retrained_elsewhere_waits_for_its_registered_models_then_finishes(
    cli: Any, db_url: str, tmp_path: Path, tiny_model: Path
) -> None:
    """retrain: external — the training stage waits for an SFT and a GRPO model registered for the round on what it
    merged; one registered on another dataset is named and not counted. The model folders are the random tiny
    Qwen2 (what matters here is the lineage, not what the models learned)."""
    cli("db", "init")
    cli("import", str(_demo_records(tmp_path)), "--dataset", "train")
    args = ["round", "start", "--non-interactive", "--threshold", "0.8", "--n", "2", "--retrain", "external"]
    out = cli(*args).output
    merged = "train@r1"
    assert f"round 1 waits for SFT and GRPO trained elsewhere on {merged}" in out, out
    assert f"--round 1 --dataset {merged}" in out
    assert "round 1  training" in cli("round", "status").output

    register = ("model", "register", "--path", str(tiny_model), "--round", "1")
    cli(*register[:2], "lf-sft-old", *register[2:], "--kind", "sft", "--dataset", "train")  # not what it merged
    cli(*register[:2], "lf-sft", *register[2:], "--kind", "sft", "--dataset", merged)
    out = cli("round", "start").output
    assert f"round 1 waits for GRPO trained elsewhere on {merged}" in out, out
    assert "not counted (trained on another dataset): lf-sft-old (sft, dataset train)" in out

    cli(*register[:2], "verl-grpo", *register[2:], "--kind", "grpo", "--dataset", merged)
    assert "round 1: done" in cli("round", "start").output
    engine = make_engine(db_url)
    training = get_round(engine, 1).results.training
    engine.dispose()
    assert training is not None and training.models == ("lf-sft", "verl-grpo")
    assert training.measured_with == "trained elsewhere"
    workspace = Settings.from_env(cli.env).workspace
    assert "verl-grpo" in (workspace / "rounds" / "round-1" / "report.md").read_text(encoding="utf-8")
