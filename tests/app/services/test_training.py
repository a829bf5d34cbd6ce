"""SFT and GRPO jobs on the tiny model, started through the job runner as the Training page does."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.services.demo import build_demo
from app.services.jobs import get_job, metrics
from app.services.training import TRAIN_HANDLER, TrainRequest, preview, request_params
from pipeline.errors import InputError
from pipeline.export.datasets import ExportConfig, export
from pipeline.jobs.runner import submit
from pipeline.settings import Settings
from training.tiny_model import build_tiny_model


@pytest.fixture
def setup(engine: Engine, db_url: str, tmp_path: Path) -> tuple[Settings, Path]:
    settings = Settings(db_url=db_url, data_dir=tmp_path / "var")
    build_demo(engine, settings, force=True)
    return settings, build_tiny_model(tmp_path / "tiny")


def _wait(engine: Engine, job_id: int, timeout: float = 400) -> None:
    deadline = time.monotonic() + timeout
    while get_job(engine, job_id).status in ("queued", "running"):
        assert time.monotonic() < deadline, "the training job did not finish"
        time.sleep(0.5)


def test_sft_and_grpo_jobs_finish_with_curves_and_a_score(engine: Engine, setup: tuple[Settings, Path]) -> None:
    settings, tiny = setup
    sft_export = 1  # the demo's trl-sft export
    grpo_export = export(engine, ExportConfig(1, "trl-grpo", settings.data_dir / "exports"), "t").export_id
    sft = TrainRequest(
        "sft",
        sft_export,
        str(tiny),
        {"max_steps": 2, "batch_size": 2, "eval_max_tokens": 8},
        eval_dataset="train",
        eval_limit=2,
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
            "extra_reward": "tests.training.test_grpo:varied_reward",
        },
        eval_dataset="train",
        eval_limit=2,
    )
    first = submit(engine, settings, "train-sft", TRAIN_HANDLER, request_params(sft, "t"), "t")
    second = submit(engine, settings, "train-grpo", TRAIN_HANDLER, request_params(grpo, "t"), "t")
    assert get_job(engine, second).status == "queued"  # one training at a time
    _wait(engine, first)
    _wait(engine, second)
    for job_id, curve in ((first, "loss"), (second, "reward")):
        job = get_job(engine, job_id)
        assert job.status == "succeeded", job.message
        assert job.result is not None and job.result["score"] is not None and job.result["n_eval_records"] == 2
        assert any(curve in line for line in metrics(job))


def test_a_wrong_export_kind_is_refused(engine: Engine, setup: tuple[Settings, Path]) -> None:
    settings, tiny = setup
    with pytest.raises(InputError, match="grpo trains on a trl-grpo export"):
        preview(engine, settings, TrainRequest("grpo", 1, str(tiny)))
