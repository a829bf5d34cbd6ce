"""The job runner with real child processes: success, failure, cancel, a killed process, the queue."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from db.engine import read_session, write_session
from db.models import Job
from pipeline.errors import InputError, SraditError
from pipeline.jobs.params import ParamsError
from pipeline.jobs.runner import cancel, job_status, reconcile, run_foreground, start_next, submit
from pipeline.settings import Settings
from tests.helpers import status, wait_for
from tests.pipeline.jobs.job_handlers import TABLE, FailParams, H, OkParams, RefusedParams, SleepParams


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(db_url=db_url, data_dir=tmp_path / "var", job_table=TABLE)


def test_a_job_runs_in_its_own_process_and_succeeds(engine: Engine, settings: Settings) -> None:
    job_id = submit(engine, settings, OkParams(7), "tester")
    wait_for(lambda: status(engine, job_id) == "succeeded")
    job = job_status(engine, job_id)
    assert job.result == {"value": 7} and job.progress == 1.0 and job.pid != os.getpid()
    assert "ok_job done for tester" in Path(job.log_path or "").read_text()  # the handler knows who asked
    assert job.kind == "ok" and job.config == {"job": "ok", "params": {"value": 7}}
    assert len(Path(job.metrics_path or "").read_text().splitlines()) == 3


def test_a_failing_job_is_marked_failed_with_its_traceback_in_the_log(engine: Engine, settings: Settings) -> None:
    job_id = submit(engine, settings, FailParams(), "tester")
    wait_for(lambda: status(engine, job_id) == "failed")
    job = job_status(engine, job_id)
    assert "this job fails on purpose" in (job.message or "")
    assert "Traceback" in Path(job.log_path or "").read_text()


def test_cancel_stops_the_process_group(engine: Engine, settings: Settings) -> None:
    job_id = submit(engine, settings, SleepParams(600), "tester")
    wait_for(lambda: job_status(engine, job_id).pid is not None and job_status(engine, job_id).progress > 0)
    pid = job_status(engine, job_id).pid
    assert cancel(engine, job_id, "tester") == "cancelled"
    wait_for(lambda: not _exists(pid or 0))
    assert status(engine, job_id) == "cancelled"


def test_a_killed_job_is_marked_failed_with_its_log_kept(engine: Engine, settings: Settings) -> None:
    job_id = submit(engine, settings, SleepParams(600), "tester")
    wait_for(lambda: job_status(engine, job_id).progress > 0)
    pid = job_status(engine, job_id).pid or 0
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: status(engine, job_id) == "failed")
    job = job_status(engine, job_id)
    assert f"worker died (pid {pid}, killed by SIGKILL)" in (job.message or "")
    assert "started" in Path(job.log_path or "").read_text()  # the log is kept


def test_a_job_whose_lane_worker_is_killed_ends_itself(engine: Engine, settings: Settings) -> None:
    job_id = submit(engine, settings, SleepParams(600), "tester")
    wait_for(lambda: job_status(engine, job_id).progress > 0)
    pid = job_status(engine, job_id).pid or 0
    lane_worker = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    os.kill(lane_worker, signal.SIGKILL)
    wait_for(lambda: not _exists(pid), timeout=20)
    job = job_status(engine, job_id)
    assert job.status == "failed" and f"its lane worker (pid {lane_worker}) died" in (job.message or "")
    assert reconcile(engine) == []  # nothing left for anyone else to find


def test_a_queued_job_starts_when_the_running_one_ends(engine: Engine, settings: Settings) -> None:
    first = submit(engine, settings, SleepParams(10), "tester")
    second = submit(engine, settings, OkParams(2), "tester")
    assert status(engine, second) == "queued"
    # Nobody calls the runner from here on: the first job's worker starts the second.
    wait_for(lambda: status(engine, second) == "succeeded")
    assert status(engine, first) == "succeeded"
    assert job_status(engine, second).started_at >= job_status(engine, first).finished_at


def test_foreground_refusal_leaves_no_job_row_and_a_failure_is_recorded(engine: Engine, settings: Settings) -> None:
    with pytest.raises(InputError):
        run_foreground(engine, settings, RefusedParams(), "tester")
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
    with pytest.raises(RuntimeError):
        run_foreground(engine, settings, FailParams(), "tester")
    with read_session(engine) as s:
        job = s.scalar(select(Job))
        assert job is not None and job.status == "failed" and "on purpose" in (job.message or "")
    assert run_foreground(engine, settings, OkParams(3), "tester") == {"value": 3}


def test_a_row_queued_before_jobs_had_names_still_runs(engine: Engine, settings: Settings) -> None:
    """Earlier versions stored ``{"handler": "module:function", "params": {..., "actor": …}}``: such a row, left
    queued by an upgrade, runs as the job the table's old handlers name, its params read into their class."""
    with write_session(engine) as s:
        old = {"handler": f"{H}:ok_job", "params": {"value": 6, "actor": "old-ui"}}
        job = Job(kind="predict", status="queued", lane="cpu", config=old, created_by="old-ui")
        s.add(job)
        s.flush()
        job_id = job.id
    assert start_next(engine, settings) == [job_id]
    wait_for(lambda: status(engine, job_id) != "running" and status(engine, job_id) != "queued")
    job = job_status(engine, job_id)
    assert (job.status, job.result) == ("succeeded", {"value": 6}), job.message


def test_parameters_a_job_cannot_run_with_are_refused_before_any_row(engine: Engine, settings: Settings) -> None:
    with pytest.raises(ParamsError, match=r"^job 'ok': field 'value' must be an integer, not 'seven'$"):
        submit(engine, settings, OkParams("seven"), "tester")  # type: ignore[arg-type]
    with pytest.raises(ParamsError, match=r"job 'sleep': field 'steps' must be an integer, not True"):
        run_foreground(engine, settings, SleepParams(steps=True), "tester")  # a bool is no count
    with pytest.raises(SraditError, match="is the parameters of no job in the job table"):
        submit(engine, settings, settings, "tester")  # a dataclass, but of no job
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"job": "ok", "params": {"value": "x"}}, "job 'ok': field 'value' must be an integer, not 'x'"),
        ({"job": "ok", "params": {"valu": 1}}, "job 'ok': unknown field 'valu' (known: value)"),
        ({"job": "tree", "params": {}}, "job 'tree': field 'pids' is missing"),
        ({"job": "gone", "params": {}}, "there is no job 'gone'"),
        ({"handler": "somewhere:else", "params": {}}, "'somewhere:else' (stored before jobs had names) is no job"),
    ],
)
def test_a_stored_row_a_worker_cannot_read_fails_with_the_reason(
    engine: Engine, settings: Settings, config: dict[str, object], reason: str
) -> None:
    with write_session(engine) as s:
        job = Job(kind="test", status="queued", lane="cpu", config=config, created_by="tester")
        s.add(job)
        s.flush()
        job_id = job.id
    start_next(engine, settings)
    wait_for(lambda: status(engine, job_id) == "failed")
    assert reason in (job_status(engine, job_id).message or "")


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
