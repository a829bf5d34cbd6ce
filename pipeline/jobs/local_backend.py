"""The local backend: lane workers on the app's own machine (docs/jobs.md, "Lanes" and "Workers").

Each lane runs one job at a time, oldest first: when a lane has queued jobs and none running, the app starts a
lane worker (:mod:`pipeline.jobs.worker`) that takes the lane's jobs until there are none. A job's pid means
something on this machine only; a running job whose process is gone, or whose worker's heartbeat is stale, is dead.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from datetime import datetime

from sqlalchemy import Engine, select

from db.base import as_utc
from db.engine import read_session, write_session
from db.models import Job
from pipeline.jobs.claims import claim, is_foreground
from pipeline.jobs.processes import HOST, alive, signal_group
from pipeline.jobs.runner import ROOT, STALE_SECONDS, job_env, record_end
from pipeline.settings import Settings


class LocalBackend:
    name = "local"

    def start_queued(self, engine: Engine, settings: Settings, lanes: list[str]) -> list[int]:
        with read_session(engine) as s:  # a look first: the Jobs page calls this every two seconds
            waiting = set(s.scalars(select(Job.lane).where(Job.status == "queued", Job.lane.in_(lanes)).distinct()))
        started = []
        for ln in lanes:
            if ln not in waiting:
                continue  # nothing queued in it
            with write_session(engine) as s:
                job = claim(s, ln, exclusive=True)
                job_id = job.id if job is not None else None
            if job_id is None:
                continue
            try:
                _launch_worker(settings, ln, job_id)
            except OSError as e:
                record_end(engine, job_id, "failed", f"its worker could not be started: {e}", None)
                continue
            started.append(job_id)
        return started

    def death(self, job: Job, now: datetime) -> str | None:
        local = job.worker_host in (None, HOST)
        if local and job.pid is not None and not alive(job.pid):
            return f"worker died (pid {job.pid}); see its log"
        if is_foreground(job):
            return None  # a terminal's command: judged by its pid alone
        beat = job.heartbeat_at or job.started_at
        if beat is None or (now - as_utc(beat)).total_seconds() > STALE_SECONDS:
            where = f"pid {job.pid} on {job.worker_host}" if job.pid is not None else f"on {job.worker_host}"
            return f"worker died ({where}: no heartbeat for over {STALE_SECONDS:.0f} s); see its log"
        return None

    def stop(self, job: Job) -> None:
        if job.pid is not None and job.worker_host in (None, HOST):
            signal_group(job.pid, signal.SIGTERM)

    def logs(self, job: Job) -> str | None:
        return None  # the job's own log file


def _launch_worker(settings: Settings, lane: str, job_id: int) -> None:
    """A lane worker that runs ``job_id`` and then the lane's next queued jobs until there are none."""
    log_path = settings.workspace / "jobs" / f"worker-{lane}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.jobs.worker", "--lane", lane, "--job", str(job_id)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a restart of the UI leaves it running
            env=job_env(settings),
            cwd=ROOT,
        )
    # Reap the child when it ends, so a long-lived parent (the app) leaves no zombie that looks alive.
    threading.Thread(target=proc.wait, daemon=True).start()
