"""K-fold and a round's retraining on a Ray cluster: a real loopback head (tests/ray_head.py, 2 GPUs declared), real
PostgreSQL, real TRL training of the tiny answering model, the real CLI.

The same `sradit kfold --model tiny-sft --folds 2 --seed 0` through the local backend and through Ray registers the
same models and mines the same badcases from the same out-of-fold predictions; a K-fold whose job process is killed
after a fold model is complete is failed with Ray's message, and run again trains only the models it is missing;
the round opened by it runs to its end with its SFT and GRPO trained on the cluster and registered with lineage."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
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
    """24 synthetic records and a pair learner on the answering model (1 SFT step: the path, not a better model),
    each training asking for one of the head's 2 GPUs."""
    engine = make_engine(url)
    init_database(engine)
    import_rows(engine, generate_records(n_labelled=24, n_unlabelled=0, seed=5), "train", "t", source="synthetic")
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


@pytest.fixture(scope="module")
def through_both(
    tmp_path_factory: pytest.TempPathFactory, tiny_answering_model: Path, ray_head: Head
) -> Iterator[tuple[Cli, str, str, str]]:
    """The same K-fold, locally and on the cluster, each into a database of its own; yields the cluster's CLI, its
    database, and both commands' output."""
    require_pg_url()
    with fresh_pg_database() as local_url, fresh_pg_database() as ray_url:
        local = _setup(tmp_path_factory.mktemp("local"), local_url, tiny_answering_model)
        local_out = local(*KFOLD).output
        on_ray = _setup(tmp_path_factory.mktemp("ray"), ray_url, tiny_answering_model)
        on_ray.env.update({"SRADIT_JOB_BACKEND": "ray", "SRADIT_RAY_ADDRESS": ray_head.address})
        ray_out = on_ray(*KFOLD).output
        yield on_ray, local_url, ray_url, local_out + "\n---\n" + ray_out


def test_kfold_through_ray_registers_the_same_models_and_badcases_as_locally(
    through_both: tuple[Cli, str, str, str],
) -> None:
    _cli, local_url, ray_url, out = through_both
    local, ray = _outcome(local_url), _outcome(ray_url)
    assert local[0] == [f"{LEARNER}-kfold-r1"] + [
        f"{LEARNER}-r1-fold{k}-{t}" for k in (0, 1) for t in ("other", "principal")
    ]
    assert ray[0] == local[0]
    assert len(ray[1]) == 24 and ray[1] == local[1], out  # the same out-of-fold predictions
    assert ray[2] == local[2]
    assert f"ensemble {LEARNER}-kfold-r1" in out.split("---")[1]


def test_the_kfold_job_ran_on_the_cluster_with_its_folds_as_parallel_tasks(
    through_both: tuple[Cli, str, str, str], ray_head: Head
) -> None:
    _cli, _local_url, ray_url, _out = through_both
    engine = make_engine(ray_url)
    with read_session(engine) as s:
        job = s.scalar(select(Job).where(Job.kind == "kfold"))
    assert job is not None and job.backend == "ray" and job.status == "succeeded"
    assert job.backend_id in {d.submission_id for d in client(ray_head.address).list_jobs()}  # Ray's own list
    log = backend_log(engine, job.id) or ""
    assert "K-fold on the Ray cluster: 4 trainings at once, each asking {'gpus': 1.0, 'cpus': 1.0" in log
    assert len(re.findall(rf"trained {LEARNER}-r1-fold\d-\w+ \(\d of 4\)", log)) == 4
    engine.dispose()


def test_a_killed_kfold_is_failed_and_run_again_trains_only_what_is_missing(
    tmp_path: Path, tiny_answering_model: Path, ray_head: Head
) -> None:
    require_pg_url()
    with fresh_pg_database() as url:
        cli = _setup(tmp_path, url, tiny_answering_model)
        settings = Settings(
            db_url=url,
            data_dir=tmp_path / "var",
            models=tmp_path / "models.toml",
            job_backend="ray",
            ray_address=ray_head.address,
        )
        engine = make_engine(url)
        first = submit(engine, settings, MiningConfig(folds=2, seed=0, model=LEARNER), "t", "gpu")
        models = settings.workspace / "models"
        wait_for(lambda: any(models.glob(f"*/{TRAINED_MARKER}")), timeout=600)
        done_first = {p.parent.name for p in models.glob(f"*/{TRAINED_MARKER}")}
        os.kill(job_status(engine, first).pid or 0, signal.SIGKILL)
        wait_for(lambda: bool(reconcile(engine)) or job_status(engine, first).status == "failed", timeout=120)
        killed = job_status(engine, first)
        assert killed.status == "failed" and (killed.message or "").startswith(f"Ray job {killed.backend_id} failed")
        with read_session(engine) as s:
            assert not list(s.scalars(select(RegisteredModel.name)))  # nothing registered half-way

        cli.env.update({"SRADIT_JOB_BACKEND": "ray", "SRADIT_RAY_ADDRESS": ray_head.address})
        cli(*KFOLD)
        with read_session(engine) as s:
            again = s.scalars(select(Job).where(Job.kind == "kfold").order_by(Job.id.desc())).first()
            assert again is not None and again.status == "succeeded"
            assert len(list(s.scalars(select(RegisteredModel.name)))) == 5
        log = backend_log(engine, again.id) or ""
        kept = set(re.findall(r"SFT (\S+): already trained on the same \d+ records and settings", log))
        assert kept and kept >= done_first, log[-3000:]
        trained = set(re.findall(r"SFT (\S+): \w+ on \d+ records from", log))
        assert trained and not (trained & kept)  # each fold model trained once in all
        engine.dispose()


def test_the_round_opened_by_it_retrains_sft_and_grpo_on_the_cluster(
    through_both: tuple[Cli, str, str, str],
) -> None:
    cli, _local_url, ray_url, _out = through_both
    folder = Path(cli.env["SRADIT_DATA_DIR"]).parent
    (folder / "round.yaml").write_text(
        yaml.safe_dump(
            {
                "generator": "rules",
                "n": 2,
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
