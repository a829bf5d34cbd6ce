"""The job runner with real child processes: success, failure, cancel, a killed process, the queue."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from db.engine import read_session
from db.models import Job
from pipeline.errors import InputError
from pipeline.jobs.runner import cancel, job_status, reconcile, run_foreground, submit
from pipeline.settings import Settings
from tests.helpers import H, status, wait_for


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(db_url=db_url, data_dir=tmp_path / "var")


def test_a_job_runs_in_its_own_process_and_succeeds(engine: Engine, settings: Settings) -> None:
    job_id = submit(engine, settings, "test", f"{H}:ok_job", {"value": 7}, "tester")
    wait_for(lambda: status(engine, job_id) == "succeeded")
    job = job_status(engine, job_id)
    assert job.result == {"value": 7} and job.progress == 1.0 and job.pid != os.getpid()
    assert "ok_job done" in Path(job.log_path or "").read_text()
    assert len(Path(job.metrics_path or "").read_text().splitlines()) == 3


def test_a_failing_job_is_marked_failed_with_its_traceback_in_the_log(engine: Engine, settings: Settings) -> None:
    job_id = submit(engine, settings, "test", f"{H}:fail_job", {}, "tester")
    wait_for(lambda: status(engine, job_id) == "failed")
    job = job_status(engine, job_id)
    assert "this job fails on purpose" in (job.message or "")
    assert "Traceback" in Path(job.log_path or "").read_text()


def test_cancel_stops_the_process_group(engine: Engine, settings: Settings) -> None:
    job_id = submit(engine, settings, "test", f"{H}:sleep_job", {"steps": 600}, "tester")
    wait_for(lambda: job_status(engine, job_id).pid is not None and job_status(engine, job_id).progress > 0)
    pid = job_status(engine, job_id).pid
    assert cancel(engine, job_id, "tester") == "cancelled"
    wait_for(lambda: not _exists(pid or 0))
    assert status(engine, job_id) == "cancelled"


def test_a_killed_job_is_marked_failed_with_its_log_kept(engine: Engine, settings: Settings) -> None:
    job_id = submit(engine, settings, "test", f"{H}:sleep_job", {"steps": 600}, "tester")
    wait_for(lambda: job_status(engine, job_id).progress > 0)
    pid = job_status(engine, job_id).pid or 0
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: status(engine, job_id) == "failed")
    job = job_status(engine, job_id)
    assert f"worker died (pid {pid}, killed by SIGKILL)" in (job.message or "")
    assert "started" in Path(job.log_path or "").read_text()  # the log is kept


def test_a_job_whose_lane_worker_is_killed_ends_itself(engine: Engine, settings: Settings) -> None:
    job_id = submit(engine, settings, "test", f"{H}:sleep_job", {"steps": 600}, "tester")
    wait_for(lambda: job_status(engine, job_id).progress > 0)
    pid = job_status(engine, job_id).pid or 0
    lane_worker = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    os.kill(lane_worker, signal.SIGKILL)
    wait_for(lambda: not _exists(pid), timeout=20)
    job = job_status(engine, job_id)
    assert job.status == "failed" and f"its lane worker (pid {lane_worker}) died" in (job.message or "")
    assert reconcile(engine) == []  # nothing left for anyone else to find


def test_a_queued_job_starts_when_the_running_one_ends(engine: Engine, settings: Settings) -> None:
    first = submit(engine, settings, "test", f"{H}:sleep_job", {"steps": 10}, "tester")
    second = submit(engine, settings, "test", f"{H}:ok_job", {"value": 2}, "tester")
    assert status(engine, second) == "queued"
    # Nobody calls the runner from here on: the first job's worker starts the second.
    wait_for(lambda: status(engine, second) == "succeeded")
    assert status(engine, first) == "succeeded"
    assert job_status(engine, second).started_at >= job_status(engine, first).finished_at


def test_foreground_refusal_leaves_no_job_row_and_a_failure_is_recorded(engine: Engine, settings: Settings) -> None:
    with pytest.raises(InputError):
        run_foreground(engine, settings, "test", f"{H}:refused_job", {}, "tester")
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
    with pytest.raises(RuntimeError):
        run_foreground(engine, settings, "test", f"{H}:fail_job", {}, "tester")
    with read_session(engine) as s:
        job = s.scalar(select(Job))
        assert job is not None and job.status == "failed" and "on purpose" in (job.message or "")
    assert run_foreground(engine, settings, "test", f"{H}:ok_job", {"value": 3}, "tester") == {"value": 3}


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
