"""The app's job table resolved entirely: every job's handler and parameters' class import, every job's parameters
go to JSON and back, and rows queued by earlier versions (a handler string and a dict with the actor) still run."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from app.services.distill import CotdParams
from app.services.framework_training import FrameworkTrainParams
from app.services.job_table import JOBS
from app.services.mining import PredictParams
from app.services.retrain import BaselineRetrainParams, GRPORetrainParams, SFTRetrainParams
from app.services.rewrite import FilterParams
from app.services.rounds import RoundParams
from app.services.training import TinyParams, TrainParams, TrainRequest
from db.engine import write_session
from db.models import Job
from db.vocabulary import JOB_ACTIVE_STATUSES
from pipeline.augment.rewriting import RewriteConfig
from pipeline.demo.database import build_demo
from pipeline.jobs.runner import job_status, start_next
from pipeline.jobs.table import load_table
from pipeline.mining.kfold import MiningConfig
from pipeline.settings import Settings

_REQUEST = TrainRequest("grpo", 4, "/models/base", {"max_steps": 2}, "dev", 10, "configs/accelerate/zero3.yaml")
#: One example of every job's parameters, every field away from its default where it has one.
EXAMPLES: dict[str, Any] = {
    "kfold": MiningConfig("train@r1", 3, 7, 2, 0.4, "qwen-sft", None, "tcecp", "recall", "record"),
    "predict": PredictParams("qwen", "test", "greedy", "train@r1"),
    "rewrite": RewriteConfig(2, 30, "llm", "qwen", 0.7, 3),
    "filter": FilterParams(2, "policy-r1", None, "/data/label.json", None, "tcecp"),
    "retrain": BaselineRetrainParams(2),
    "retrain-sft": SFTRetrainParams(2),
    "retrain-grpo": GRPORetrainParams(2),
    "round": RoundParams("non-interactive", {"learner": "qwen-sft", "folds": 3, "policy_model": "none"}),
    "train": TrainParams(_REQUEST),
    "tiny": TinyParams("/models/tiny", answers=True),
    "cotd": CotdParams("qwen", "train@r1", ("multi",), 4, 0.0, 1),
    "framework-train": FrameworkTrainParams("verl", 3, "qwen-r1-sft-principal", "qwen-r1-verl", 8),
}


def test_the_settings_point_at_this_table() -> None:
    assert load_table(Settings().job_table) is JOBS


@pytest.mark.parametrize("name", JOBS.names())
def test_every_job_resolves_and_its_parameters_go_to_json_and_back(name: str) -> None:
    job = JOBS[name]
    assert callable(job.load_handler())
    example = EXAMPLES[name]  # a job added to the table needs an example here
    assert isinstance(example, job.params_class()) and JOBS.of(example) is job
    stored, config = JOBS.encode(example)
    assert stored.params == example
    config = json.loads(json.dumps(config))  # as the row's JSON column gives it back
    assert JOBS.decode(config).params == example


def test_every_job_has_an_example() -> None:
    assert sorted(EXAMPLES) == sorted(JOBS.names())


#: What the helpers of earlier versions stored (their params carried the actor), and what each reads back as.
OLD_ROWS: list[tuple[str, dict[str, Any], Any]] = [
    ("app.services.mining:kfold_job", {**asdict(EXAMPLES["kfold"]), "actor": "eng"}, EXAMPLES["kfold"]),
    (
        "app.services.mining:predict_job",
        {"model": "qwen", "dataset": "test", "inference": None, "actor": "eng"},
        PredictParams("qwen", "test"),
    ),
    ("app.services.rewrite:rewrite_job", {**asdict(EXAMPLES["rewrite"]), "actor": "eng"}, EXAMPLES["rewrite"]),
    ("app.services.rewrite:filter_job", {**asdict(EXAMPLES["filter"]), "actor": "eng"}, EXAMPLES["filter"]),
    ("app.services.retrain:baseline_job", {"round_no": 2, "actor": "eng"}, BaselineRetrainParams(2)),
    ("app.services.retrain:sft_job", {"round_no": 2, "actor": "eng"}, SFTRetrainParams(2)),
    ("app.services.retrain:grpo_job", {"round_no": 2, "actor": "eng"}, GRPORetrainParams(2)),
    (
        "app.services.rounds:round_job",
        {"mode": "interactive", "config": {"model": "baseline", "generator_model": None}, "actor": "eng"},
        RoundParams("interactive", {"model": "baseline", "generator_model": None}),  # a round's older keys
    ),
    ("app.services.training:train_job", {"request": _REQUEST.__dict__, "actor": "eng"}, TrainParams(_REQUEST)),
    ("app.services.training:tiny_job", {"out": "/m", "answers": False, "actor": "eng"}, TinyParams("/m")),
    (
        "app.services.distill:cotd_job",
        {
            "teacher": "qwen",
            "dataset": "train",
            "subtasks": ["principal", "other"],
            "actor": "eng",
            "batch_size": 16,
            "temperature": 0.7,
            "max_attempts": 2,
        },
        CotdParams("qwen"),
    ),
]


@pytest.mark.parametrize(("handler", "params", "expected"), OLD_ROWS, ids=[h for h, _, _ in OLD_ROWS])
def test_a_row_stored_with_an_old_handler_reads_back_typed(handler: str, params: dict[str, Any], expected: Any) -> None:
    assert JOBS.decode({"handler": handler, "params": params}).params == expected


def test_every_old_handler_has_an_old_row() -> None:
    assert sorted(h for h, _, _ in OLD_ROWS) == sorted(JOBS.old_handlers)


def test_an_old_queued_predict_row_runs_in_a_worker(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """A row an earlier version queued from the Models page, left in the queue by an upgrade: the lane worker
    (a real process, reading the app's table) runs it."""
    build_demo(engine, force=True)
    settings = Settings(db_url=db_url, data_dir=tmp_path / "var")
    old = {
        "handler": "app.services.mining:predict_job",
        "params": {"model": "baseline", "dataset": "train", "inference": None, "actor": "eng"},
    }
    with write_session(engine) as s:
        job = Job(kind="predict", status="queued", lane="cpu", config=old, created_by="eng")
        s.add(job)
        s.flush()
        job_id = job.id
    assert start_next(engine, settings) == [job_id]
    deadline = time.monotonic() + 120
    while job_status(engine, job_id).status in JOB_ACTIVE_STATUSES:
        assert time.monotonic() < deadline, "the old row's job did not finish"
        time.sleep(0.2)
    done = job_status(engine, job_id)
    assert done.status == "succeeded", done.message
    assert done.result is not None and done.result["records"] == 60 and Path(done.result["out"]).is_file()
