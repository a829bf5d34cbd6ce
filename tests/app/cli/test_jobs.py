"""`sradit worker --lane cpu` as a real process against a SQLite file: it takes the lane's queued jobs, and
SIGTERM or SIGINT stops it cleanly, ending the job it was running; `sradit jobs list` shows each job's lane."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pipeline.jobs.processes import alive
from pipeline.jobs.runner import job_status, submit
from pipeline.settings import Settings
from tests.helpers import Cli, status, wait_for
from tests.pipeline.jobs.job_handlers import TABLE, OkParams, SleepParams

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_cpu_worker_runs_the_lane_s_jobs_and_stops_cleanly(
    engine: Engine, db_url: str, tmp_path: Path, cli: Cli, stop_signal: signal.Signals
) -> None:
    # The app's side: both lanes are served by workers elsewhere, so submitting starts nothing here.
    settings = Settings(
        db_url=db_url, data_dir=tmp_path / "var", cpu_workers="external", gpu_workers="external", job_table=TABLE
    )
    first = submit(engine, settings, OkParams(4), "tester", "cpu", "filter")
    gpu = submit(engine, settings, OkParams(), "tester", "gpu", "train-sft")
    env = {**os.environ, **cli.env, "PYTHONPATH": str(ROOT), "SRADIT_JOB_TABLE": TABLE}
    worker = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "worker", "--lane", "cpu", "--poll", "0.2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: status(engine, first) == "succeeded")
        assert job_status(engine, first).result == {"value": 4}
        long = submit(engine, settings, SleepParams(600), "tester", "cpu", "filter")
        wait_for(lambda: job_status(engine, long).progress > 0)
        job_pid = job_status(engine, long).pid or 0
        worker.send_signal(stop_signal)
        _out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert "worker stopped after 2 job(s)" in err and "Traceback" not in err
    job = job_status(engine, long)
    assert job.status == "failed" and "was stopped while it ran" in (job.message or "")
    wait_for(lambda: not alive(job_pid), timeout=15)
    assert status(engine, gpu) == "queued"  # not this worker's lane
    lines = cli("jobs", "list").output.splitlines()
    assert lines[0].split("\t")[1:4] == ["filter", "cpu", "failed"]
    assert lines[1].split("\t")[1:4] == ["train-sft", "gpu", "queued"]
