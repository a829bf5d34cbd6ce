"""The lane of each job kind: gpu for training and LLM generation, cpu for the rest; and the Jobs page's
service submits into that lane."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from app.services.distill import CotdParams
from app.services.jobs import JobView, get_job, lane_for, log_tail, recent_jobs, submit
from app.services.mining import PredictParams
from app.services.retrain import BaselineRetrainParams, GRPORetrainParams, SFTRetrainParams
from app.services.rewrite import FilterParams
from app.services.rounds import RoundParams
from app.services.training import TinyParams, TrainParams, TrainRequest
from pipeline.augment.rewriting import RewriteConfig
from pipeline.mining.kfold import MiningConfig
from pipeline.settings import Settings


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    models = tmp_path / "models.toml"
    models.write_text(
        '[models.qwen]\nkind = "llm"\nengine = "openai"\nurl = "http://localhost:8000/v1"\n', encoding="utf-8"
    )
    return Settings(db_url=db_url, data_dir=tmp_path / "var", models=models, paused_lanes="gpu")


@pytest.mark.parametrize(
    ("params", "lane"),
    [
        (TrainParams(TrainRequest("sft", 1, "/models/base")), "gpu"),
        (SFTRetrainParams(1), "gpu"),
        (GRPORetrainParams(1), "gpu"),
        (CotdParams("qwen"), "gpu"),
        (TinyParams("/models/tiny"), "gpu"),
        (MiningConfig(model="baseline"), "cpu"),
        (MiningConfig(model="qwen"), "gpu"),
        (MiningConfig(model="file:oof.json", predictions="/x/oof.json"), "cpu"),
        (MiningConfig(model="my-learner-r1-sft-principal"), "gpu"),  # a registered (trained) model
        (RewriteConfig(1, generator="rules"), "cpu"),
        (RewriteConfig(1, generator="llm", model="qwen"), "gpu"),
        (FilterParams(1), "cpu"),
        (FilterParams(1, label_model="qwen"), "gpu"),
        (PredictParams("baseline", "test"), "cpu"),
        (PredictParams("qwen", "test"), "gpu"),
        (BaselineRetrainParams(1), "cpu"),
        (RoundParams(config={"learner": "baseline", "generator": "rules", "label_model": "auto"}), "cpu"),
        (RoundParams(config={"learner": "baseline", "generator": "llm", "rewrite_model": "qwen"}), "gpu"),
        (RoundParams(config={"learner": "qwen-learner", "generator": "rules"}), "gpu"),
        (RoundParams(config={"mining": "policy"}), "gpu"),
    ],
)
def test_each_job_goes_to_the_lane_it_needs(settings: Settings, params: Any, lane: str) -> None:
    assert lane_for(settings, params) == lane


def test_the_service_submits_into_the_job_s_lane(engine: Engine, settings: Settings) -> None:
    settings = replace(settings, paused_lanes="cpu,gpu")  # queued in their lanes, run by nobody
    gpu = submit(engine, settings, PredictParams("qwen", "test"), "tester")
    cpu = submit(engine, settings, PredictParams("baseline", "test"), "tester")
    assert (get_job(engine, gpu).lane, get_job(engine, cpu).lane) == ("gpu", "cpu")
    assert get_job(engine, gpu).status == "queued"  # gpu workers are external here: the app starts none
    views = {v.id: v for v in recent_jobs(engine, settings=settings)}
    assert views[gpu].lane == "gpu" and views[gpu].status == "queued" and views[gpu].kind == "predict"


def _ended(**values: Any) -> JobView:
    base = dict(
        id=7, kind="train-sft", lane="cpu", status="succeeded", progress=1.0, message=None, created_by="eng",
        created_at="2026-12-07 10:00:00", result=None, log_path=None, metrics_path=None, round_no=None, stage=None,
        backend="local", backend_id=None, node=None,
    )  # fmt: skip
    return JobView(**{**base, **values})


def test_a_job_without_a_log_says_where_its_output_went(engine: Engine) -> None:
    """A round's stage job ran inside the round's driver, not "in a terminal" (issue 27)."""
    stage = _ended(round_no=2, stage="training", result={"lines": ["registered tiny-r2-sft-principal"]})
    assert log_tail(engine, stage).splitlines() == [
        "(this stage ran inside the process that drove round 2 (its round job here, or `sradit round start` in a "
        "terminal); its output went there — what it reported:)",
        "registered tiny-r2-sft-principal",
    ]
    assert log_tail(engine, _ended(status="failed", message="boom")) == (
        "(this job ran in a terminal through `sradit`; its output went there; it ended failed: boom)"
    )


def test_the_jobs_list_says_what_each_job_did() -> None:
    """The message column was empty for every job that succeeded."""
    assert (
        _ended(result={"lines": ["tiny model at var/models/tiny", "more"]}).summary == "tiny model at var/models/tiny"
    )
    assert _ended(status="failed", message="no round 7", result={"lines": ["x"]}).summary == "no round 7"
    assert _ended().summary == ""
