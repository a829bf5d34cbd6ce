"""K-fold and a round's retraining on a Ray cluster: a real loopback head (tests/ray_head.py, 2 GPUs declared), real
PostgreSQL, real TRL training of the tiny answering model, the real CLI.

On the cluster, a K-fold job whose process is killed once a fold model is complete is failed with Ray's message,
and `sradit kfold --model tiny-sft --folds 2 --seed 0` run again trains only the fold models it is missing — and
registers the same models and mines the same badcases from the same out-of-fold predictions as the same command
through the local backend; the round opened by it runs to its end with its SFT and GRPO trained on the cluster and
registered with lineage."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from db.engine import make_engine, read_session
from db.models import Badcase, Job, Prediction, Record, RegisteredModel
from pipeline.database import init_database
from pipeline.demo.synthetic import generate_records
from pipeline.ingest.importer import import_rows
from pipeline.jobs.ray_backend import client
from pipeline.jobs.runner import backend_log, job_status, reconcile, submit
from pipeline.mining.kfold import MiningConfig
from pipeline.settings import Settings
from tests.databases import fresh_pg_database, require_pg_url
from tests.helpers import ROOT, Cli, wait_for
from tests.ray_head import Head
from training.models.learners import TRAINED_MARKER

pytestmark = pytest.mark.slow
LEARNER = "tiny-sft"
KFOLD = ("kfold", "--model", LEARNER, "--folds", "2", "--seed", "0")


def _setup(folder: Path, url: str, base: Path) -> Cli:
    """16 synthetic records and a pair learner on the answering model (1 SFT step: the path, not a better model),
    each training asking for one of the head's 2 GPUs."""
    engine = make_engine(url)
    init_database(engine)
    import_rows(engine, generate_records(n_labelled=16, n_unlabelled=0, seed=5), "train", "t", source="synthetic")
    engine.dispose()
    sft = yaml.safe_load((ROOT / "configs" / "cpu" / "sft-tiny.yaml").read_text(encoding="utf-8"))
    sft["max_steps"] = 1
    (folder / "sft.yaml").write_text(yaml.safe_dump(sft), encoding="utf-8")
    grpo = yaml.safe_load((ROOT / "configs" / "cpu" / "grpo-tiny.yaml").read_text(encoding="utf-8"))
    grpo.update(max_steps=1, max_completion_length=16)
    (folder / "grpo.yaml").write_text(yaml.safe_dump(grpo), encoding="utf-8")
    (folder / "models.toml").write_text(
        f'[models.{LEARNER}]\nkind = "sft"\nbase = "{base}"\nconfig = "{folder / "sft.yaml"}"\nsubtasks = "pair"\n'
        f"max_tokens = 48\nresources = {{gpus = 1, cpus = 1}}\n[models.{LEARNER}.options]\nbatch_size = 8\n",
        encoding="utf-8",
    )
    cli = Cli(url, folder)
    cli.env.update({"SRADIT_MODELS": str(folder / "models.toml"), "OMP_NUM_THREADS": "1"})
    return cli


def _outcome(url: str) -> tuple[list[str], dict[str, tuple[str, list[str]]], list[str]]:
    """(registered model names, each record's out-of-fold prediction, the badcases' 病案标识)."""
    engine = make_engine(url)
    with read_session(engine) as s:
        names = sorted(s.scalars(select(RegisteredModel.name)))
        preds = {
            case: (main or "", sorted(others or []))
            for case, main, others in s.execute(
                select(Record.case_id, Prediction.principal_code, Prediction.other_codes).join(
                    Record, Prediction.record_id == Record.id
                )
            )
        }
        bad = sorted(s.scalars(select(Record.case_id).join(Badcase, Badcase.record_id == Record.id)))
    engine.dispose()
    return names, preds, bad


@dataclass(frozen=True)
class Runs:
    cli: Cli  #: the cluster side's CLI
    local_url: str
    ray_url: str
    output: str  #: both `sradit kfold` commands' output
    killed: int  #: the K-fold job killed part-way on the cluster
    done_before_kill: set[str]  #: the fold models complete when it was killed


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_answering_model: Path, ray_head: Head) -> Iterator[Runs]:
    """The same K-fold locally, and on the cluster — where a first K-fold job is killed once a fold model is complete,
    then `sradit kfold` runs it again — each into a database of its own."""
    require_pg_url()
    with fresh_pg_database() as local_url, fresh_pg_database() as ray_url:
        local = _setup(tmp_path_factory.mktemp("local"), local_url, tiny_answering_model)
        local_out = local(*KFOLD).output
        folder = tmp_path_factory.mktemp("ray")
        on_ray = _setup(folder, ray_url, tiny_answering_model)
        on_ray.env.update({"SRADIT_JOB_BACKEND": "ray", "SRADIT_RAY_ADDRESS": ray_head.address})
        settings = Settings(
            db_url=ray_url,
            data_dir=folder / "var",
            models=folder / "models.toml",
            job_backend="ray",
            ray_address=ray_head.address,
        )
        engine = make_engine(ray_url)
        killed = submit(engine, settings, MiningConfig(folds=2, seed=0, model=LEARNER), "t", "gpu")
        models = settings.workspace / "models"
        wait_for(lambda: any(models.glob(f"*/{TRAINED_MARKER}")), timeout=900)
        done = {p.parent.name for p in models.glob(f"*/{TRAINED_MARKER}")}
        os.kill(job_status(engine, killed).pid or 0, signal.SIGKILL)
        wait_for(lambda: bool(reconcile(engine)) or job_status(engine, killed).status == "failed", timeout=120)
        engine.dispose()
        ray_out = on_ray(*KFOLD).output
        yield Runs(on_ray, local_url, ray_url, local_out + "\n---\n" + ray_out, killed, done)


def test_kfold_through_ray_registers_the_same_models_and_badcases_as_locally(runs: Runs) -> None:
    """Run again after a kill, with the models kept from the killed run: still the same as in one process."""
    local, ray = _outcome(runs.local_url), _outcome(runs.ray_url)
    folds = [f"{LEARNER}-r1-fold{k}-{t}" for k in (0, 1) for t in ("other", "principal")]
    assert local[0] == [f"{LEARNER}-kfold-r1", *folds]
    assert ray[0] == local[0]
    assert len(ray[1]) == 16 and ray[1] == local[1], runs.output  # the same out-of-fold predictions
    assert ray[2] == local[2]
    assert f"ensemble {LEARNER}-kfold-r1" in runs.output.split("---")[1]


def _kfold_jobs(url: str) -> list[Job]:
    engine = make_engine(url)
    with read_session(engine) as s:
        jobs = list(s.scalars(select(Job).where(Job.kind == "kfold").order_by(Job.id)))
    engine.dispose()
    return jobs


def test_a_killed_kfold_is_failed_with_ray_s_message_and_registers_nothing(runs: Runs) -> None:
    killed, again = _kfold_jobs(runs.ray_url)
    assert killed.id == runs.killed and killed.status == "failed"
    assert (killed.message or "").startswith(f"Ray job {killed.backend_id} failed"), killed.message
    assert again.status == "succeeded"
    engine = make_engine(runs.ray_url)
    with read_session(engine) as s:
        by = set(s.scalars(select(RegisteredModel.job_id)))
    engine.dispose()
    assert by == {again.id}  # every registered model is the second run's


def test_run_again_it_trains_only_the_fold_models_it_is_missing(runs: Runs, ray_head: Head) -> None:
    again = _kfold_jobs(runs.ray_url)[1]
    assert again.backend == "ray" and again.backend_id in {
        d.submission_id for d in client(ray_head.address).list_jobs()
    }
    engine = make_engine(runs.ray_url)
    log = backend_log(engine, again.id) or ""
    engine.dispose()
    assert "K-fold on the Ray cluster: 4 trainings at once, each asking {'gpus': 1.0, 'cpus': 1.0" in log
    kept = set(re.findall(rf"kept \(trained before on the same rows and settings\) ({LEARNER}\S+) \(\d of 4\)", log))
    trained = set(re.findall(rf"^trained ({LEARNER}\S+) \(\d of 4\)$", log, re.M))
    assert kept >= runs.done_before_kill and kept, log[-3000:]
    assert trained and not trained & kept and len(trained | kept) == 4  # each fold model trained once in all


def test_the_round_opened_by_it_retrains_sft_and_grpo_on_the_cluster(runs: Runs) -> None:
    cli, ray_url = runs.cli, runs.ray_url
    folder = Path(cli.env["SRADIT_DATA_DIR"]).parent
    (folder / "round.yaml").write_text(
        yaml.safe_dump(
            {
                "generator": "rules",
                "n": 1,
                "label_model": "baseline",
                "policy_model": "none",
                "grpo_config": str(folder / "grpo.yaml"),
                "keep_unlearned_policy": True,  # one GRPO step of a tiny model proves the path, not learning
            }
        ),
        encoding="utf-8",
    )
    out = cli("round", "start", "--non-interactive", "--config", str(folder / "round.yaml")).output
    assert "round 1: done" in out, out
    engine = make_engine(ray_url)
    with read_session(engine) as s:
        stages = {j.kind: j for j in s.scalars(select(Job).where(Job.stage == "training"))}
        rows = {m.name: m for m in s.scalars(select(RegisteredModel))}
    assert {"train-sft", "train-grpo"} <= set(stages)
    for job in (stages["train-sft"], stages["train-grpo"]):
        assert job.backend == "ray" and job.backend_id and job.status == "succeeded"
    for subtask in ("principal", "other"):
        sft, grpo = rows[f"{LEARNER}-r1-sft-{subtask}"], rows[f"{LEARNER}-r1-grpo-{subtask}"]
        assert grpo.parent == sft.name and sft.round_no == grpo.round_no == 1
    engine.dispose()
