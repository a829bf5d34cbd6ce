"""Lanes and dead workers, with real processes: a killed worker's whole tree ends and its lane moves on, a
long gpu job holds up no cpu job, claims never collide, and a job that cannot start writes nothing."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from db.base import utcnow
from db.engine import make_engine, read_session, write_session
from db.models import AuditEntry, Job
from pipeline.errors import SraditError
from pipeline.jobs.claims import claim
from pipeline.jobs.processes import HOST, alive
from pipeline.jobs.runner import cancel, job_status, reconcile, start_next, submit
from pipeline.settings import Settings
from tests.helpers import row_counts, status, wait_for
from tests.pipeline.jobs.job_handlers import TABLE, OkParams, SleepParams, TreeParams


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(db_url=db_url, data_dir=tmp_path / "var", job_table=TABLE)


def test_a_killed_worker_s_children_end_and_the_lane_s_next_job_runs(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    pids_file = tmp_path / "pids"
    first = submit(engine, settings, TreeParams(str(pids_file)), "tester", "cpu")
    second = submit(engine, settings, OkParams(5), "tester", "cpu")
    assert status(engine, second) == "queued"
    wait_for(lambda: pids_file.is_file() and job_status(engine, first).progress > 0)
    children = [int(p) for p in pids_file.read_text().split()]
    assert len(children) >= 2 and all(alive(p) for p in children)
    worker = job_status(engine, first).pid or 0
    os.kill(worker, signal.SIGKILL)  # the worker alone, as the OOM killer would: not its group
    # Nobody calls the runner from here on: the lane worker above the job ends its tree and moves on.
    wait_for(lambda: status(engine, second) == "succeeded")
    wait_for(lambda: not any(alive(p) for p in children), timeout=10)
    job = job_status(engine, first)
    assert job.status == "failed" and f"worker died (pid {worker}" in (job.message or "")
    assert "SIGKILL" in (job.message or "") and job_status(engine, second).result == {"value": 5}


def test_a_long_gpu_job_does_not_hold_up_a_cpu_job(engine: Engine, settings: Settings) -> None:
    long = submit(engine, settings, SleepParams(600), "tester", "gpu", "train-sft")
    queued_gpu = submit(engine, settings, OkParams(), "tester", "gpu", "train-grpo")
    wait_for(lambda: job_status(engine, long).progress > 0)
    quick = submit(engine, settings, OkParams(9), "tester", "cpu", "kfold")
    wait_for(lambda: status(engine, quick) == "succeeded")
    assert status(engine, long) == "running" and status(engine, queued_gpu) == "queued"  # one per lane
    assert (job_status(engine, long).lane, job_status(engine, quick).lane) == ("gpu", "cpu")
    cancel(engine, long, "tester")
    wait_for(lambda: status(engine, queued_gpu) == "succeeded")


def test_a_paused_lane_keeps_its_jobs_queued_while_the_other_runs(engine: Engine, settings: Settings) -> None:
    paused = Settings(db_url=settings.db_url, data_dir=settings.data_dir, paused_lanes="gpu", job_table=TABLE)
    gpu = submit(engine, paused, OkParams(), "tester", "gpu", "train-sft")
    cpu = submit(engine, paused, OkParams(), "tester", "cpu", "filter")
    wait_for(lambda: status(engine, cpu) == "succeeded")
    assert status(engine, gpu) == "queued"
    start_next(engine, settings)  # the lane opened again
    wait_for(lambda: status(engine, gpu) == "succeeded")


def _claim_all(db_url: str, lane: str, out: str, go: Any, exclusive: bool = False) -> None:
    """One claimer process: claims until the lane is empty, as the ray backend's submitter does; ``exclusive``:
    once, as a lane worker's launcher does (one running job per lane)."""
    engine = make_engine(db_url)
    mine = []
    go.wait(60)  # all start together
    while True:
        with write_session(engine) as s:
            job = claim(s, lane, exclusive=exclusive, host=f"claimer-{os.getpid()}")
            if job is None:
                break
            mine.append(job.id)
        if exclusive:
            break
    Path(out).write_text("\n".join(map(str, [os.getpid(), *mine])))


def _race(db_url: str, tmp_path: Path, exclusive: bool) -> dict[str, list[int]]:
    """Four claimer processes at once; what each claimed, by the host name it records."""
    outs = [tmp_path / f"claimed-{i}" for i in range(4)]
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    procs = [ctx.Process(target=_claim_all, args=(db_url, "cpu", str(out), go, exclusive)) for out in outs]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    return {f"claimer-{pid}": ids for pid, *ids in ([int(x) for x in o.read_text().split()] for o in outs)}


def test_concurrent_claimers_never_claim_the_same_job(engine: Engine, db_url: str, tmp_path: Path) -> None:
    with write_session(engine) as s:
        s.add_all(Job(kind="test", status="queued", lane="cpu", config={}) for _ in range(60))
        s.add(Job(kind="test", status="queued", lane="gpu", config={}))
    by_claimer = _race(db_url, tmp_path, exclusive=False)
    claimed = [i for ids in by_claimer.values() for i in ids]
    assert len(claimed) == len(set(claimed)) == 60  # every cpu job once, none twice
    with read_session(engine) as s:
        assert s.scalar(select(Job.status).where(Job.lane == "gpu")) == "queued"  # the other lane untouched
        for job in s.scalars(select(Job).where(Job.lane == "cpu")):  # each row names the claimer that has it
            assert job.status == "running" and job.id in by_claimer[job.worker_host or ""]


def test_the_app_s_launchers_start_one_job_per_lane_however_many_race(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    with write_session(engine) as s:
        s.add_all(Job(kind="test", status="queued", lane="cpu", config={}) for _ in range(10))
    claimed = [i for ids in _race(db_url, tmp_path, exclusive=True).values() for i in ids]
    assert len(claimed) == 1
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).where(Job.status == "running")) == 1


def test_a_job_whose_remote_worker_went_silent_is_failed(engine: Engine) -> None:
    now = utcnow()
    with write_session(engine) as s:
        silent = Job(kind="t", status="running", lane="gpu", config={}, pid=123, worker_host="gpu-box")
        silent.started_at, silent.heartbeat_at = now - timedelta(hours=2), now - timedelta(minutes=10)
        beating = Job(kind="t", status="running", lane="gpu", config={}, pid=124, worker_host="gpu-box-2")
        beating.started_at, beating.heartbeat_at = now - timedelta(hours=2), now
        s.add_all([silent, beating])
        s.flush()
        ids = silent.id, beating.id
    assert reconcile(engine) == [ids[0]]
    assert "worker died (pid 123 on gpu-box: no heartbeat" in (job_status(engine, ids[0]).message or "")
    assert status(engine, ids[1]) == "running"  # pid 124 here means nothing: its heartbeat is fresh


def test_a_running_job_whose_process_is_gone_here_is_failed(engine: Engine) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    with write_session(engine) as s:
        job = Job(kind="t", status="running", lane="cpu", config={}, pid=gone.pid, worker_host=HOST)
        job.started_at = job.heartbeat_at = utcnow()  # a fresh heartbeat: the pid alone tells
        s.add(job)
        s.flush()
        job_id = job.id
    assert reconcile(engine) == [job_id]
    assert job_status(engine, job_id).message == f"worker died (pid {gone.pid}); see its log"


def test_a_job_that_cannot_start_writes_no_rows(engine: Engine, db_url: str, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the data folder should be")  # unwritable even for root
    before = row_counts(engine)
    with pytest.raises(SraditError, match="cannot be written"):
        submit(engine, Settings(db_url=db_url, data_dir=blocked, job_table=TABLE), OkParams(), "tester")
    assert row_counts(engine) == before
    with read_session(engine) as s:
        assert s.scalar(select(AuditEntry.id)) is None and s.scalar(select(Job.id)) is None
