"""A lane worker of the local backend: takes one lane's queued jobs, oldest first, and runs each in a process group
of its own.

The app starts one (``python -m pipeline.jobs.worker --lane L --job ID``) when the lane has queued jobs and none
running; it stops when its lane has nothing queued, or when it is stopped (SIGTERM, SIGINT). Jobs on other machines
go through the ray backend (:mod:`pipeline.jobs.ray_backend`). While a job runs, the worker writes its heartbeat and
watches its process: when that process ends, whatever is left of its group (loky/joblib workers, torch
dataloader workers) is killed, a job it did not finish itself is marked failed — "worker died (pid N)"
— and the lane's next job starts. A job cancelled meanwhile, or whose worker is stopped, has its group
ended: SIGTERM first, then SIGKILL.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from db.base import utcnow
from db.engine import read_session, write_session
from db.models import Job
from db.vocabulary import JOB_LANES
from pipeline.jobs.claims import check_lane, claim
from pipeline.jobs.processes import HOST, end_group
from pipeline.jobs.runner import HEARTBEAT_SECONDS, ROOT, job_dir, job_env, reconcile, record_end
from pipeline.settings import Settings

#: Seconds a job has to clean up after SIGTERM (cancelled, or its worker stopped) before SIGKILL.
TERM_GRACE_SECONDS = 10.0


def serve(
    engine: Engine,
    settings: Settings,
    lane: str,
    *,
    first: int | None = None,
    stop: threading.Event | None = None,
    poll_seconds: float = 2.0,
) -> int:
    """Run the lane's jobs until none is queued or ``stop`` is set; returns how many ran.

    ``first``: a job already claimed for this worker. It claims only while no other job of the lane runs (one
    worker a lane).
    """
    check_lane(lane)
    stop = stop or threading.Event()
    job_id, ran = first, 0
    while not stop.is_set():
        if job_id is None:
            try:
                reconcile(engine)
                with write_session(engine) as s:
                    job = claim(s, lane, exclusive=True)
                    job_id = job.id if job is not None else None
            except OperationalError as e:  # the database restarting or locked for long: try again later
                print(f"worker: the database did not answer ({e.orig}); trying again", file=sys.stderr, flush=True)
                stop.wait(poll_seconds)
                continue
        if job_id is None:
            break
        supervise(engine, settings, job_id, stop)
        ran, job_id = ran + 1, None
    return ran


def supervise(engine: Engine, settings: Settings, job_id: int, stop: threading.Event) -> str:
    """Run one claimed job in a process group of its own until it ends; returns the job's status then."""
    log_path = job_dir(settings, job_id) / "log.txt"
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log: IO[bytes] = log_path.open("ab")
    except OSError as e:
        record_end(engine, job_id, "failed", f"its log {log_path} cannot be written: {e.strerror or e}", None)
        return "failed"
    with log:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pipeline.jobs.job_process", str(job_id)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own group: the whole tree can be ended, nothing else with it
                env=job_env(settings),
                cwd=ROOT,
            )
        except OSError as e:
            record_end(engine, job_id, "failed", f"its process could not be started: {e}", None)
            return "failed"
        with write_session(engine) as s:
            job = s.get(Job, job_id)
            if job is not None and job.status == "running":
                job.pid, job.worker_host, job.heartbeat_at = proc.pid, HOST, utcnow()
        code = _watch(engine, job_id, proc, stop)
        # Whatever the job left behind goes with it: a killed job's loky workers would otherwise run on.
        end_group(proc.pid)
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        if record_end(engine, job_id, "failed", f"worker died (pid {proc.pid}, {how}); see its log", None):
            _note(log, f"job {job_id}: worker died (pid {proc.pid}, {how}); its process group was ended")
    with read_session(engine) as s:
        job = s.get(Job, job_id)
        return job.status if job is not None else "missing"


def _watch(engine: Engine, job_id: int, proc: subprocess.Popen[bytes], stop: threading.Event) -> int:
    """Heartbeat while the job's process runs; end its group when it is cancelled or the worker stops."""
    ending, last_beat = False, time.monotonic()
    while True:
        try:
            return proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        if ending or (not stop.is_set() and time.monotonic() - last_beat < HEARTBEAT_SECONDS):
            continue
        last_beat = time.monotonic()
        status = _heartbeat(engine, job_id)
        if status != "running":
            ending = True  # cancelled (perhaps on another machine) or judged dead: stop its work
        elif stop.is_set():
            record_end(engine, job_id, "failed", f"its worker (pid {os.getpid()}) was stopped while it ran", None)
            ending = True
        if ending:
            threading.Thread(target=end_group, args=(proc.pid, TERM_GRACE_SECONDS), daemon=True).start()


def _heartbeat(engine: Engine, job_id: int) -> str:
    try:
        with write_session(engine) as s:
            job = s.get(Job, job_id)
            if job is None:
                return "missing"
            if job.status == "running":
                job.heartbeat_at = utcnow()
            return job.status
    except OperationalError:
        return "running"  # a missed beat is no reason to stop a job; the next one may get through


def _note(log: IO[bytes], line: str) -> None:
    log.write((line + "\n").encode())
    log.flush()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.jobs.worker", description=__doc__)
    parser.add_argument("--lane", choices=JOB_LANES, required=True)
    parser.add_argument("--job", type=int, help="a job already claimed for this worker, run first")
    args = parser.parse_args(argv)
    from pipeline.database import engine_for

    settings = Settings.from_env()
    stop = install_stop_handlers()
    serve(engine_for(settings), settings, args.lane, first=args.job, stop=stop)
    return 0


def install_stop_handlers() -> threading.Event:
    """SIGTERM and SIGINT stop the worker: its running job is ended, nothing new is claimed."""
    stop = threading.Event()

    def on_signal(_sig: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
