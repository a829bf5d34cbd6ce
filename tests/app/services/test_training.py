"""SFT and GRPO jobs on the tiny model, started through the job runner as the Training page does."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.services.demo import build_demo
from app.services.jobs import get_job, metrics
from app.services.training import TinyParams, TrainParams, TrainRequest, _register_tiny, _write_eval, preview, step_line
from db.vocabulary import JOB_ACTIVE_STATUSES
from pipeline.errors import InputError
from pipeline.export.datasets import ExportConfig, export
from pipeline.jobs.runner import submit
from pipeline.rounds.lifecycle import approve_by_filters, augment
from pipeline.settings import Settings


@pytest.fixture
def setup(engine: Engine, db_url: str, tmp_path: Path, tiny_model: Path) -> tuple[Settings, Path]:
    settings = Settings(db_url=db_url, data_dir=tmp_path / "var")
    build_demo(engine, settings, force=True)
    return settings, tiny_model


def _wait(engine: Engine, job_id: int, timeout: float = 400) -> None:
    deadline = time.monotonic() + timeout
    while get_job(engine, job_id).status in JOB_ACTIVE_STATUSES:
        assert time.monotonic() < deadline, "the training job did not finish"
        time.sleep(0.5)


@pytest.mark.sqlite_only("minutes of SFT and GRPO; the database is incidental")
def test_sft_and_grpo_jobs_finish_with_curves_and_a_score(engine: Engine, setup: tuple[Settings, Path]) -> None:
    settings, tiny = setup
    # Exports with a held-out fold: the evaluation defaults to it (never the training records).
    sft_export = export(engine, ExportConfig(1, "trl-sft", settings.data_dir / "exports", fold=0), "t").export_id
    grpo_export = export(engine, ExportConfig(1, "trl-grpo", settings.data_dir / "exports", fold=0), "t").export_id
    sft = TrainRequest(
        "sft", sft_export, str(tiny), {"max_steps": 2, "batch_size": 2, "eval_max_tokens": 8}, eval_limit=2
    )
    assert "python" in preview(engine, settings, sft) and "training.train_entry sft" in preview(engine, settings, sft)
    grpo = TrainRequest(
        "grpo",
        grpo_export,
        str(tiny),
        {
            "max_steps": 2,
            "num_generations": 2,
            "max_completion_length": 8,
            "train_batch_size": 2,
            "ppo_mini_batch_size": 2,
            "micro_batch_size": 2,
            "eval_max_tokens": 8,
            "extra_reward": "tests.training.grpo_rows:varied_reward",
        },
        eval_limit=2,
    )
    first = submit(engine, settings, TrainParams(sft), "t", kind="train-sft")
    second = submit(engine, settings, TrainParams(grpo), "t", kind="train-grpo")
    assert get_job(engine, second).status == "queued"  # one training at a time
    _wait(engine, first)
    _wait(engine, second)
    for job_id, curve in ((first, "loss"), (second, "reward")):
        job = get_job(engine, job_id)
        assert job.status == "succeeded", job.message
        assert job.result is not None and job.result["score"] is not None and job.result["n_eval_records"] == 2
        assert (job.result["evaluation"], job.result["metric"]) == ("held-out", "f1")
        assert any(curve in line for line in metrics(job))


def test_a_wrong_export_kind_is_refused(engine: Engine, setup: tuple[Settings, Path]) -> None:
    settings, tiny = setup
    with pytest.raises(InputError, match="grpo trains on a trl-grpo export"):
        preview(engine, settings, TrainRequest("grpo", 1, str(tiny)))


def test_an_in_sample_evaluation_is_refused_unless_allowed(engine: Engine, setup: tuple[Settings, Path]) -> None:
    settings, tiny = setup
    in_sample = TrainRequest("sft", 1, str(tiny), eval_dataset="train", eval_limit=2)  # the demo's export of train
    with pytest.raises(InputError, match="dataset 'train' shares 60 records with export 1's training data"):
        preview(engine, settings, in_sample)
    allowed = preview(engine, settings, replace(in_sample, allow_in_sample=True))
    assert "allow_in_sample: true" in allowed


def test_the_held_out_fold_after_an_augmented_round_has_each_record_once(
    engine: Engine, setup: tuple[Settings, Path], tmp_path: Path
) -> None:
    """Originals and their copies in train@r1 share ids and folds: the fold is read from the export's dataset."""
    settings, tiny = setup
    approve_by_filters(engine, 1, "t")
    augment(engine, 1, "t")
    e = export(engine, ExportConfig(1, "trl-sft", settings.data_dir / "exports", fold=0), "t").export_id
    n = _write_eval(engine, TrainRequest("sft", e, str(tiny)), tmp_path / "eval.json")
    rows = json.loads((tmp_path / "eval.json").read_text(encoding="utf-8"))
    ids = [r["病案标识"] for r in rows]
    assert n == len(ids) == len(set(ids)) > 0


def test_the_tiny_model_s_folder_is_confined_again_when_the_job_writes(tmp_path: Path) -> None:
    """The page confines the folder when typed; a symbolic link put in its place before the job runs is refused then
    (the job would have written the model outside the data folder)."""
    root, outside = tmp_path / "data", tmp_path / "outside"
    (root / "models").mkdir(parents=True)
    outside.mkdir()
    params = TinyParams(str(root / "models" / "tiny"), confined_to=str(root.resolve()))
    assert params.checked_out() == (root / "models" / "tiny").resolve()
    (root / "models").rmdir()
    (root / "models").symlink_to(outside)
    with pytest.raises(InputError, match=r"now leads to .*outside.*nothing was built"):
        params.checked_out()
    assert TinyParams(str(root / "models" / "tiny")).checked_out() == (outside / "tiny").resolve()  # the CLI's: free


def _at(time: float, step: int, **more: object) -> dict[str, object]:
    return {"time": time, "step": step, "max_steps": 40, **more}


@pytest.mark.parametrize(
    ("points", "started", "now", "line"),
    [
        ([], 0.0, 5.0, None),  # nothing logged yet: the bar alone
        ([{"time": 3.0, "score": 50.0}], 0.0, 5.0, None),  # a line without a step (an evaluation's)
        ([_at(14.0, 2)], 10.0, 14.0, "step 2 of 40 · 2.0 s a step · about 1 min 16 s left"),  # from the job's start
        ([_at(14.0, 2)], None, 14.0, "step 2 of 40"),  # no start known: no speed claimed
        (
            [_at(100.0, 10), _at(130.0, 20)],  # model loading before step 10 left out of the speed
            0.0,
            135.0,
            "step 20 of 40 · 3.0 s a step · about 55 s left",  # 20 steps × 3 s, less 5 s since the last line
        ),
        ([_at(100.0, 10), _at(130.0, 40)], 0.0, 131.0, "step 40 of 40 · 1.0 s a step"),  # finished: nothing left
        (
            [_at(10.0, 40, model="m-principal"), _at(50.0, 5, model="m-other"), _at(60.0, 10, model="m-other")],
            0.0,
            60.0,
            "m-other: step 10 of 40 · 2.0 s a step · about 1 min 00 s left",  # a round's job: the model in training
        ),
        ([_at(0.0, 1), _at(7200.0, 2)], 0.0, 7200.0, "step 2 of 40 · 7200.0 s a step · about 76 h 00 min left"),
    ],
)
def test_a_training_job_says_its_step_speed_and_time_left(
    points: list[dict[str, object]], started: float | None, now: float, line: str | None
) -> None:
    assert step_line(points, started, now) == line


def test_the_answering_tiny_model_registers_under_its_folder_name_once(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """Built from the Models page, it is listed there (it was not); a rebuild in that name registers nothing and
    says why. A stand-in folder of real weights, not an 80-second build: the registration is what is tested."""
    from pipeline.jobs.runner import JobContext
    from tests.helpers import model_folder
    from training.models.registry import find

    ctx = JobContext(engine, Settings(db_url=db_url, data_dir=tmp_path / "var"), job_id=1, actor="eng")
    folder = Path(model_folder(tmp_path / "models" / "tiny-answers"))
    assert _register_tiny(folder, ctx) == "registered as tiny-answers: it predicts from the Models page"
    row = find(engine, "tiny-answers")
    assert row is not None and (row.kind, row.path, row.created_by) == ("sft", str(folder.resolve()), "eng")
    again = _register_tiny(folder, ctx)
    assert (
        again == "not registered: a model named 'tiny-answers' is registered already (`sradit model show tiny-answers`)"
    )
