"""The lane of each job kind: gpu for training and LLM generation, cpu for the rest; and the Jobs page's
service submits into that lane."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from app.services.jobs import get_job, lane_for, recent_jobs, submit
from pipeline.settings import Settings

H = "tests.pipeline.jobs.job_handlers"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    models = tmp_path / "models.toml"
    models.write_text(
        '[models.qwen]\nkind = "llm"\nengine = "openai"\nurl = "http://localhost:8000/v1"\n', encoding="utf-8"
    )
    return Settings(db_url=db_url, data_dir=tmp_path / "var", models=models, gpu_workers="external")


@pytest.mark.parametrize(
    ("kind", "params", "lane"),
    [
        ("train-sft", {}, "gpu"),
        ("train-grpo", {}, "gpu"),
        ("cotd", {"teacher": "qwen"}, "gpu"),
        ("kfold", {"model": "baseline"}, "cpu"),
        ("kfold", {"model": "qwen"}, "gpu"),
        ("kfold", {"model": "file:oof.json", "predictions": "/x/oof.json"}, "cpu"),
        ("kfold", {"model": "my-learner-r1-sft-principal"}, "gpu"),  # a registered (trained) model
        ("rewrite", {"generator": "rules"}, "cpu"),
        ("rewrite", {"generator": "llm", "model": "qwen"}, "gpu"),
        ("filter", {"label_model": None, "policy_model": None}, "cpu"),
        ("filter", {"label_model": "qwen"}, "gpu"),
        ("predict", {"model": "baseline"}, "cpu"),
        ("predict", {"model": "qwen"}, "gpu"),
        ("retrain", {"learner": "baseline"}, "cpu"),
        ("round", {"config": {"learner": "baseline", "generator": "rules", "label_model": "auto"}}, "cpu"),
        ("round", {"config": {"learner": "baseline", "generator": "llm", "rewrite_model": "qwen"}}, "gpu"),
        ("round", {"config": {"learner": "qwen-learner", "generator": "rules"}}, "gpu"),
        ("export", {}, "cpu"),
        ("demo", {}, "cpu"),
    ],
)
def test_each_kind_goes_to_the_lane_it_needs(settings: Settings, kind: str, params: dict[str, Any], lane: str) -> None:
    assert lane_for(settings, kind, params) == lane


def test_the_service_submits_into_the_kind_s_lane(engine: Engine, settings: Settings) -> None:
    gpu = submit(engine, settings, "predict", f"{H}:ok_job", {"model": "qwen"}, "tester")
    cpu = submit(engine, settings, "predict", f"{H}:ok_job", {"model": "baseline"}, "tester")
    assert (get_job(engine, gpu).lane, get_job(engine, cpu).lane) == ("gpu", "cpu")
    assert get_job(engine, gpu).status == "queued"  # gpu workers are external here: the app starts none
    views = {v.id: v for v in recent_jobs(engine, settings=settings)}
    assert views[gpu].lane == "gpu" and views[gpu].status == "queued"
