"""`sradit jobs list` shows each job's lane and where it runs (backend, Ray job id, node); `sradit jobs cluster`
says there is no cluster to check with the local backend. Real database files, the real CLI. The ray backend's
commands are tested against a real head in tests/pipeline/jobs/test_ray_backend.py."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from pipeline.jobs.runner import submit
from pipeline.settings import Settings
from tests.helpers import Cli, status, wait_for
from tests.pipeline.jobs.job_handlers import TABLE, OkParams


def test_jobs_list_shows_each_job_s_lane_and_backend(engine: Engine, db_url: str, tmp_path: Path, cli: Cli) -> None:
    settings = Settings(db_url=db_url, data_dir=tmp_path / "var", paused_lanes="gpu", job_table=TABLE)
    done = submit(engine, settings, OkParams(4), "tester", "cpu", "filter")
    wait_for(lambda: status(engine, done) == "succeeded")
    queued = submit(engine, settings, OkParams(), "tester", "gpu", "train-sft")
    lines = [line.split("\t") for line in cli("jobs", "list").output.splitlines()]
    assert [cells[0] for cells in lines] == [str(queued), str(done)]
    assert lines[0][1:4] == ["train-sft", "gpu", "queued"] and lines[1][1:4] == ["filter", "cpu", "succeeded"]
    assert lines[1][7:] == ["local", "", lines[1][9]] and lines[1][9]  # no Ray job id; the machine it ran on
    assert lines[0][7:] == ["local", "", ""]  # not started anywhere yet


def test_jobs_cluster_with_the_local_backend_says_there_is_none(cli: Cli) -> None:
    result = cli("jobs", "cluster", ok=False)
    assert result.exit_code != 0
    assert "SRADIT_JOB_BACKEND is local" in result.output
