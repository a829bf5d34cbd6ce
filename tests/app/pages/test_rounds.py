"""The Rounds page, rendered by Streamlit's AppTest on real databases: a round configured with an LLM learner
(its YAML and its cost shown before it starts, then submitted as a job), and a round waiting for experts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from db.engine import make_engine, read_session
from db.models import Job
from pipeline.demo.database import build_demo as build_records
from pipeline.domain.label_space import PRINCIPAL
from pipeline.domain.parsers import parse_submission
from tests.demo_cache import copy_demo
from tests.helpers import ROOT, shown

PAGE = str(ROOT / "app" / "pages" / "rounds.py")


def page(url: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("SRADIT_DB_URL", url)
    monkeypatch.setenv("SRADIT_DATA_DIR", str(folder / "var"))
    monkeypatch.setenv("SRADIT_MODELS", str(folder / "models.toml"))
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in {"user_id": 2, "user_name": "engineer", "user_role": "engineer"}.items():
        at.session_state[key] = value
    return at.run()


def test_a_round_with_an_llm_learner_is_configured_costed_and_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'sradit.db'}"
    engine = make_engine(url)
    build_records(engine, force=False)  # the demo's records, no round yet
    (tmp_path / "models.toml").write_text(
        '[models.qwen-sft]\nkind = "sft"\nbase = "/models/qwen"\nconfig = "sft.yaml"\nsubtasks = "pair"\n',
        encoding="utf-8",
    )
    at = page(url, tmp_path, monkeypatch)
    assert not at.exception, at.exception
    learner = next(s for s in at.selectbox if s.label == "Learner")
    learner.select("qwen-sft").run()
    config = yaml.safe_load(at.code[0].value)
    assert (config["learner"], config["mining"], config["policy_model"]) == ("qwen-sft", "kfold", "auto")
    plan = " ".join(shown(m.value) for m in at.markdown)
    # 5 folds × 2 sub-tasks of K-fold SFT, then SFT and GRPO per sub-task.
    assert "14 trainings in all" in plan and "policy filter: the label filter's survivors only" in plan
    next(b for b in at.button if b.label == "Start the next round").click().run()
    assert not at.exception, at.exception
    with read_session(engine) as s:
        job = s.scalar(select(Job).where(Job.kind == "round"))
    assert job is not None and job.config["params"]["config"]["learner"] == "qwen-sft"
    engine.dispose()


def test_a_round_waiting_for_experts_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = copy_demo(tmp_path / "demo.db", tmp_path / "var")
    (tmp_path / "models.toml").write_text("", encoding="utf-8")
    at = page(url, tmp_path, monkeypatch)
    assert not at.exception, at.exception
    assert any("It waits for the experts" in shown(i.value) for i in at.info)
    assert yaml.safe_load(at.code[0].value)["policy_model"] == "none"
    assert "Continue round 1" in [b.label for b in at.button]
    # The round report, downloadable from the page (it was only a file on the server)
    report = at.get("download_button")
    assert [shown(b.proto.label) for b in report] == ["Download round 1's report"], report


def _wait(engine: Engine, job_id: int, seconds: float = 480) -> Job:
    """The job as it ended (its worker is a real process started by the page's submit)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with read_session(engine) as s:
            job = s.get(Job, job_id)
            assert job is not None
            if job.status not in ("queued", "running"):
                return job
        time.sleep(1)
    raise AssertionError(f"job {job_id} still running after {seconds} s")


@pytest.mark.slow
def test_an_llm_round_runs_from_the_rounds_page_and_its_ensemble_predicts_from_the_models_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_answering_model: Path
) -> None:
    """Issue 11/12 from the browser's side: the tiny learner configured on the Rounds page, the round run by the
    page's background job through every stage, then the round's K-fold ensemble predicting from the Models page."""
    url = f"sqlite:///{tmp_path / 'sradit.db'}"
    engine = make_engine(url)
    build_records(engine, force=False)
    sft = yaml.safe_load((ROOT / "configs" / "cpu" / "sft-tiny.yaml").read_text(encoding="utf-8")) | {"max_steps": 1}
    grpo = yaml.safe_load((ROOT / "configs" / "cpu" / "grpo-tiny.yaml").read_text(encoding="utf-8")) | {"max_steps": 1}
    (tmp_path / "sft.yaml").write_text(yaml.safe_dump(sft), encoding="utf-8")
    (tmp_path / "grpo.yaml").write_text(yaml.safe_dump(grpo), encoding="utf-8")
    (tmp_path / "models.toml").write_text(
        f'[models.tiny-sft]\nkind = "sft"\nbase = "{tiny_answering_model}"\nconfig = "{tmp_path / "sft.yaml"}"\n'
        'subtasks = "pair"\nmax_tokens = 96\n[models.tiny-sft.options]\nbatch_size = 8\n',
        encoding="utf-8",
    )
    at = page(url, tmp_path, monkeypatch)
    choose = {"Learner": "tiny-sft", "Label filter model": "baseline", "Approval": "non-interactive"}
    for label, value in choose.items():
        next(s for s in at.selectbox if s.label == label).select(value).run()
    next(n for n in at.number_input if n.label == "Folds").set_value(2).run()
    next(n for n in at.number_input if n.label == "Variants per badcase").set_value(2).run()
    next(t for t in at.text_input if t.label == "GRPO config").input(str(tmp_path / "grpo.yaml")).run()
    assert "8 trainings in all" in " ".join(shown(m.value) for m in at.markdown)  # 2 folds × 2, then 2 SFT + 2 GRPO
    next(b for b in at.button if b.label == "Start the next round").click().run()
    job = _wait(engine, at.session_state["round_job"])
    assert (job.status, job.result) == ("succeeded", {"round": 1, "status": "done"}), job.message

    at = page(url, tmp_path, monkeypatch)
    table = at.dataframe[0].value
    assert table.loc[0, "status"] == "done" and table.loc[0, "mined with"].endswith("tiny-sft-kfold-r1")
    assert "tiny-sft-r1-grpo-principal" in table.loc[0, "trained"]
    with read_session(engine) as s:
        kinds = [j.kind for j in s.scalars(select(Job).order_by(Job.id))]
    assert kinds[-6:] == ["round", "kfold", "rewrite", "filter", "train-sft", "train-grpo"]  # each stage a job

    models = AppTest.from_file(str(ROOT / "app" / "pages" / "models.py"), default_timeout=60)
    for key, value in {"user_id": 2, "user_name": "engineer", "user_role": "engineer"}.items():
        models.session_state[key] = value
    models.run()
    next(s for s in models.selectbox if s.label == "Model").select("tiny-sft-kfold-r1")
    datasets = next(s for s in models.selectbox if s.label == "Dataset")  # chosen from the database, not typed
    assert datasets.value == "test" and "test (5 records, no labels: not scored)" in datasets.options
    next(b for b in models.button if b.label == "Predict").click().run()
    predicted = _wait(engine, models.session_state["predict_job"])
    assert predicted.status == "succeeded", predicted.message
    models.run()
    download = models.get("download_button")  # the predictions, not only a path on the server
    assert [shown(b.proto.label) for b in download] == ["Download the predictions (JSON)"], download
    rows = json.loads(Path(predicted.result["out"]).read_text(encoding="utf-8"))
    parsed = [parse_submission(r["预测结果"]) for r in rows]
    assert len(parsed) == 5 and sum(p is not None and p.main in PRINCIPAL for p in parsed) >= 4, rows
    engine.dispose()


def test_the_progress_bar_follows_the_rounds_own_stage_job_and_the_stage_jobs_are_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Training-page SFT job running at the same time is not the round's stage (it was shown as one)."""
    import os

    from db.base import utcnow
    from db.engine import write_session
    from pipeline.jobs.processes import HOST
    from pipeline.rounds.lookup import round_id

    url = copy_demo(tmp_path / "demo.db", tmp_path / "var")
    engine = make_engine(url)
    (tmp_path / "models.toml").write_text("", encoding="utf-8")
    alive = {"status": "running", "pid": os.getpid(), "worker_host": HOST, "started_at": utcnow()}
    with write_session(engine) as s:
        rid = round_id(s, 1)
        driver = Job(kind="round", lane="cpu", config={"foreground": True}, round_id=rid, **alive)
        stage = Job(kind="filter", lane="cpu", config={"foreground": True}, round_id=rid, stage="filtering", **alive)
        s.add_all([driver, stage])
        s.flush()
        # Newer than the round's own stage job: what the page used to pick.
        other = Job(kind="train-sft", lane="gpu", config={"foreground": True}, progress=0.9, **alive)
        s.add(other)
        s.flush()
        driver_id, stage_id, other_id = driver.id, stage.id, other.id
    monkeypatch.setenv("SRADIT_DB_URL", url)
    monkeypatch.setenv("SRADIT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SRADIT_MODELS", str(tmp_path / "models.toml"))
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in {"user_id": 2, "user_name": "engineer", "user_role": "engineer", "round_job": driver_id}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    shown = " ".join(str(p.proto.text) for p in at.get("progress"))
    assert f"filtering (filter job {stage_id})" in shown and f"job {other_id}" not in shown
    stages = at.dataframe[-1].value
    assert list(stages["stage"])[:2] == ["generating", "filtering"]  # the demo's own rewrite and filter jobs
    assert other_id not in set(stages["job"])
    engine.dispose()
