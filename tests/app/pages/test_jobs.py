"""The Jobs page, rendered by Streamlit's AppTest on a real database: each job with its lane and backend, a gpu
job left queued in a paused lane while a cpu job runs; a job on a real loopback Ray head shown with its Ray job id
and node, and stopped there by the page's Cancel."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from pipeline.accounts.users import add_user
from pipeline.database import init_database
from pipeline.jobs.processes import HOST
from pipeline.jobs.ray_backend import client
from pipeline.jobs.runner import job_status, submit
from pipeline.settings import Settings
from tests.databases import fresh_pg_database, require_pg_url
from tests.helpers import ROOT, wait_for
from tests.pipeline.jobs.job_handlers import TABLE, OkParams, SleepParams
from tests.ray_head import Head

PAGE = str(ROOT / "app" / "pages" / "jobs.py")


def test_each_job_shows_its_lane(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(engine, "eng", "engineer", "a long enough password 1", "t")
    settings = Settings(db_url=db_url, data_dir=tmp_path / "var", paused_lanes="gpu", job_table=TABLE)
    gpu = submit(engine, settings, OkParams(), "eng", "gpu", "train-sft")
    cpu = submit(engine, settings, OkParams(), "eng", "cpu", "kfold")
    wait_for(lambda: job_status(engine, cpu).status == "succeeded")
    monkeypatch.setenv("SRADIT_DB_URL", db_url)
    monkeypatch.setenv("SRADIT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SRADIT_PAUSED_LANES", "gpu")
    monkeypatch.setenv("SRADIT_JOB_TABLE", TABLE)
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in {"user_id": 1, "user_name": "eng", "user_role": "engineer"}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("id")
    assert list(table.loc[gpu, ["kind", "lane", "status"]]) == ["train-sft", "gpu", "queued"]
    assert list(table.loc[cpu, ["kind", "lane", "status"]]) == ["kfold", "cpu", "succeeded"]
    assert list(table["backend"]) == ["local", "local"] and list(table["Ray job"]) == ["", ""]


@pytest.mark.slow
def test_a_ray_job_shows_where_it_runs_and_cancel_stops_it_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ray_head: Head
) -> None:
    require_pg_url()
    with fresh_pg_database() as url:
        engine = make_engine(url)
        init_database(engine)
        add_user(engine, "eng", "engineer", "a long enough password 1", "t")
        settings = Settings(
            db_url=url, data_dir=tmp_path / "var", job_table=TABLE, job_backend="ray", ray_address=ray_head.address
        )
        job_id = submit(engine, settings, SleepParams(600), "eng", "gpu", "train-sft")
        wait_for(lambda: job_status(engine, job_id).progress > 0, timeout=120)
        env = {"DB_URL": url, "DATA_DIR": str(tmp_path / "var"), "JOB_TABLE": TABLE, "JOB_BACKEND": "ray"}
        for key, value in {**env, "RAY_ADDRESS": ray_head.address}.items():
            monkeypatch.setenv(f"SRADIT_{key}", value)
        at = AppTest.from_file(PAGE, default_timeout=60)
        for key, value in {"user_id": 1, "user_name": "eng", "user_role": "engineer"}.items():
            at.session_state[key] = value
        at.run()
        assert not at.exception, at.exception
        row = at.dataframe[0].value.set_index("id").loc[job_id]
        sid = job_status(engine, job_id).backend_id
        assert (row["backend"], row["Ray job"], row["node"], row["status"]) == ("ray", sid, HOST, "running")
        assert f"job {job_id}: Ray gave it GPUs" in at.code[0].value  # its log, read from Ray
        at.button(key=f"cancel_{job_id}").click().run()
        assert job_status(engine, job_id).status == "cancelled"
        wait_for(lambda: str(client(ray_head.address).get_job_status(sid or "").value) == "STOPPED", timeout=60)
        engine.dispose()
