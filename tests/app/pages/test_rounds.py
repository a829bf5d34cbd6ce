"""The Rounds page, rendered by Streamlit's AppTest on real databases: a round configured with an LLM learner
(its YAML and its cost shown before it starts, then submitted as a job), and a round waiting for experts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
import yaml
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from app.services.demo import build_demo
from db.engine import make_engine, read_session
from db.models import Job
from pipeline.demo.database import build_demo as build_records
from pipeline.settings import Settings
from tests.conftest import ROOT

PAGE = str(ROOT / "app" / "pages" / "rounds.py")


@pytest.fixture(autouse=True)
def _fresh_resources() -> Iterator[None]:
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


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
    shown = yaml.safe_load(at.code[0].value)
    assert (shown["learner"], shown["mining"], shown["policy_model"]) == ("qwen-sft", "kfold", "auto")
    plan = " ".join(m.value for m in at.markdown)
    # 5 folds × 2 sub-tasks of K-fold SFT, then SFT and GRPO per sub-task.
    assert "14 trainings in all" in plan and "policy filter: the label filter's survivors only" in plan
    next(b for b in at.button if b.label == "Start the next round").click().run()
    assert not at.exception, at.exception
    with read_session(engine) as s:
        job = s.scalar(select(Job).where(Job.kind == "round"))
    assert job is not None and job.config["params"]["config"]["learner"] == "qwen-sft"
    engine.dispose()


def test_a_round_waiting_for_experts_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    build_demo(make_engine(url), Settings(db_url=url, data_dir=tmp_path / "var"), force=False)
    (tmp_path / "models.toml").write_text("", encoding="utf-8")
    at = page(url, tmp_path, monkeypatch)
    assert not at.exception, at.exception
    assert any("It waits for the experts" in i.value for i in at.info)
    assert yaml.safe_load(at.code[0].value)["policy_model"] == "none"
    assert "Continue round 1" in [b.label for b in at.button]
