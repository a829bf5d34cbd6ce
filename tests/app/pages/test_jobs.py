"""The Jobs page, rendered by Streamlit's AppTest on a real database: each job with its lane, and a gpu job
left queued for an external worker while a cpu job runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from pipeline.accounts.users import add_user
from pipeline.jobs.runner import job_status, submit
from pipeline.settings import Settings
from tests.helpers import ROOT, wait_for
from tests.pipeline.jobs.job_handlers import TABLE, OkParams

PAGE = str(ROOT / "app" / "pages" / "jobs.py")


@pytest.fixture(autouse=True)
def _fresh_resources() -> Iterator[None]:
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def test_each_job_shows_its_lane(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(engine, "eng", "engineer", "a long enough password 1", "t")
    settings = Settings(db_url=db_url, data_dir=tmp_path / "var", gpu_workers="external", job_table=TABLE)
    gpu = submit(engine, settings, OkParams(), "eng", "gpu", "train-sft")
    cpu = submit(engine, settings, OkParams(), "eng", "cpu", "kfold")
    wait_for(lambda: job_status(engine, cpu).status == "succeeded")
    monkeypatch.setenv("SRADIT_DB_URL", db_url)
    monkeypatch.setenv("SRADIT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SRADIT_GPU_WORKERS", "external")
    monkeypatch.setenv("SRADIT_JOB_TABLE", TABLE)
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in {"user_id": 1, "user_name": "eng", "user_role": "engineer"}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("id")
    assert list(table.loc[gpu, ["kind", "lane", "status"]]) == ["train-sft", "gpu", "queued"]
    assert list(table.loc[cpu, ["kind", "lane", "status"]]) == ["kfold", "cpu", "succeeded"]
