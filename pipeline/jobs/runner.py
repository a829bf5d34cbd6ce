"""The job runner (DESIGN.md, "Long work").

A job is a row in ``jobs`` plus, while it runs, a child process in its own process group that writes a
log file and a JSONL of metrics. Jobs run one at a time, oldest first; the worker that finishes a job
starts the next queued one, so the queue moves on whether or not a browser is open. A running job
whose process has gone (killed, machine restarted) is marked failed by :func:`reconcile`, log kept.

What a job does is a handler, ``"module:function"`` taking ``(params, ctx)`` and returning a JSON-able
result; it is looked up when the job runs, so this module needs no knowledge of the services.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from db.base import utcnow
from db.engine import read_session, write_session
from db.models import Job
from pipeline.audit import audit
from pipeline.errors import InputError, SraditError
from pipeline.settings import Settings

Handler = Callable[[dict[str, Any], "JobContext"], dict[str, Any]]
ACTIVE = ("queued", "running")


class Cancelled(Exception):
    """Raised inside a job when it is cancelled (SIGTERM to its process group)."""


def job_dir(settings: Settings, job_id: int) -> Path:
    return settings.workspace / "jobs" / str(job_id)


@dataclass
class JobContext:
    """What a handler gets: progress, metrics and logging for its job."""

    engine: Engine
    settings: Settings
    job_id: int
    on_progress: Callable[[int, int], None] | None = None
    _last_write: float = field(default=0.0, repr=False)

    @property
    def metrics_path(self) -> Path:
        return job_dir(self.settings, self.job_id) / "metrics.jsonl"

    def progress(self, done: int, total: int, message: str | None = None) -> None:
        if self.on_progress:
            self.on_progress(done, total)
        now = time.monotonic()
        # Throttled: a progress bar needs a few updates a second, not a write per step.
        if done < total and now - self._last_write < 0.5:
            return
        self._last_write = now
        with write_session(self.engine) as s:
            job = s.get(Job, self.job_id)
            if job is not None:
                job.progress = done / total if total else 1.0
                if message is not None:
                    job.message = message

    def metric(self, **values: Any) -> None:
        self.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        with self.metrics_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"time": time.time(), **values}, ensure_ascii=False) + "\n")

    def log(self, line: str) -> None:
        print(line, flush=True)


def resolve(handler: str) -> Handler:
    module, _, name = handler.partition(":")
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as e:
        raise SraditError(f"job handler {handler!r} cannot be loaded: {e}") from None


def submit(engine: Engine, settings: Settings, kind: str, handler: str, params: dict[str, Any], actor: str) -> int:
    """Queue a job and start it if nothing is running; returns its id."""
    resolve(handler)  # fail now, not in the worker
    with write_session(engine) as s:
        job = Job(kind=kind, status="queued", config={"handler": handler, "params": params}, created_by=actor)
        s.add(job)
        s.flush()
        d = job_dir(settings, job.id)
        job.log_path, job.metrics_path = str(d / "log.txt"), str(d / "metrics.jsonl")
        audit(s, actor, "job.submit", f"job {job.id}", kind=kind)
        job_id = job.id
    start_next(engine, settings)
    return job_id


def start_next(engine: Engine, settings: Settings) -> int | None:
    """Start the oldest queued job in a worker process, unless one is running. Safe to call from anywhere."""
    reconcile(engine)
    with write_session(engine) as s:
        if s.scalar(select(Job.id).where(Job.status == "running").limit(1)) is not None:
            return None
        job = s.scalar(select(Job).where(Job.status == "queued").order_by(Job.id).limit(1))
        if job is None:
            return None
        # Claimed under the write lock, so two callers cannot start the same job.
        job.status, job.started_at = "running", utcnow()
        job_id, log_path = job.id, Path(job.log_path or job_dir(settings, job.id) / "log.txt")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.jobs.worker", str(job_id)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: cancel kills the whole tree, a UI restart none
            env={**os.environ, "SRADIT_DB_URL": settings.db_url, "SRADIT_DATA_DIR": str(settings.data_dir)},
            cwd=Path(__file__).resolve().parents[2],  # the checkout, so handlers in tests/ import too
        )
    # Reap the child when it ends, so a long-lived parent (the app) leaves no zombie that looks alive.
    threading.Thread(target=proc.wait, daemon=True).start()
    with write_session(engine) as s:
        job = s.get(Job, job_id)
        if job is not None and job.pid is None:
            job.pid = proc.pid
    return job_id


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def reconcile(engine: Engine, grace_seconds: float = 10.0) -> list[int]:
    """Mark running jobs whose process is gone as failed (their logs stay); returns their ids."""
    gone = []
    with write_session(engine) as s:
        for job in s.scalars(select(Job).where(Job.status == "running")):
            if job.pid is None:
                # Claimed but not yet given a pid: only stale if it has been so for a while.
                started = job.started_at
                if started is not None and (utcnow() - _aware(started)).total_seconds() < grace_seconds:
                    continue
            elif _alive(job.pid):
                continue
            job.status, job.finished_at = "failed", utcnow()
            job.message = f"the job's process ({job.pid}) is gone; see its log"
            gone.append(job.id)
    return gone


def _aware(dt: Any) -> Any:
    from datetime import UTC

    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def cancel(engine: Engine, job_id: int, actor: str) -> str:
    """Cancel a queued or running job; returns its status afterwards."""
    with write_session(engine) as s:
        job = s.get(Job, job_id)
        if job is None:
            raise SraditError(f"there is no job {job_id}")
        if job.status not in ACTIVE:
            return job.status
        pid = job.pid if job.status == "running" else None
        job.status, job.finished_at, job.message = "cancelled", utcnow(), f"cancelled by {actor}"
        audit(s, actor, "job.cancel", f"job {job_id}")
    if pid is not None:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    return "cancelled"


def _finish(engine: Engine, job_id: int, status: str, message: str | None, result: dict[str, Any] | None) -> None:
    with write_session(engine) as s:
        job = s.get(Job, job_id)
        if job is None:
            return
        if job.status == "cancelled" and status != "cancelled":
            return  # cancel wins over whatever the handler managed meanwhile
        job.status, job.finished_at, job.message, job.result = status, utcnow(), message, result
        if status == "succeeded":
            job.progress = 1.0


def run_in_worker(engine: Engine, settings: Settings, job_id: int) -> int:
    """The body of ``python -m pipeline.jobs.worker JOB_ID``: run the job, record how it ended, start the next."""

    def on_term(_sig: int, _frame: Any) -> None:
        raise Cancelled()

    signal.signal(signal.SIGTERM, on_term)
    with write_session(engine) as s:
        job = s.get(Job, job_id)
        if job is None or job.status != "running":
            print(f"job {job_id} is not waiting to run (status: {job.status if job else 'missing'})", flush=True)
            return 1
        job.pid = os.getpid()
        config = dict(job.config)
    code = 0
    print(f"job {job_id} ({config.get('handler')}) started, pid {os.getpid()}", flush=True)
    try:
        result = resolve(config["handler"])(config.get("params", {}), JobContext(engine, settings, job_id))
        _finish(engine, job_id, "succeeded", None, result)
        print(f"job {job_id} succeeded: {json.dumps(result, ensure_ascii=False)}", flush=True)
    except Cancelled:
        _finish(engine, job_id, "cancelled", "cancelled", None)
        print(f"job {job_id} cancelled", flush=True)
        code = 1
    except Exception as e:  # noqa: BLE001 — every failure is recorded on the job, with its traceback in the log
        traceback.print_exc()
        _finish(engine, job_id, "failed", f"{type(e).__name__}: {e}", None)
        code = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    start_next(engine, settings)
    return code


def run_foreground(
    engine: Engine,
    settings: Settings,
    kind: str,
    handler: str,
    params: dict[str, Any],
    actor: str,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run a job in this process (the CLI), visible to the UI while it runs.

    A command refused for bad input writes nothing (DESIGN.md): its job row is removed. A job that
    fails part-way is recorded as failed, since whatever it committed before (variants, say) stays.
    """
    fn = resolve(handler)
    reconcile(engine)  # a foreground run killed earlier shows as failed, not running, beside this one
    with write_session(engine) as s:
        job = Job(
            kind=kind,
            status="running",
            config={"handler": handler, "params": params},
            created_by=actor,
            pid=os.getpid(),
            started_at=utcnow(),
        )
        s.add(job)
        s.flush()
        job_id = job.id
    try:
        result = fn(params, JobContext(engine, settings, job_id, on_progress=on_progress))
    except InputError:
        with write_session(engine) as s:
            row = s.get(Job, job_id)
            if row is not None:
                s.delete(row)
        raise
    except KeyboardInterrupt:
        _finish(engine, job_id, "cancelled", "interrupted", None)
        raise
    except Exception as e:
        _finish(engine, job_id, "failed", f"{type(e).__name__}: {e}", None)
        raise
    _finish(engine, job_id, "succeeded", None, result)
    return result


def job_status(engine: Engine, job_id: int) -> Job:
    with read_session(engine) as s:
        job = s.get(Job, job_id)
        if job is None:
            raise SraditError(f"there is no job {job_id}")
        return job


def list_jobs(engine: Engine, limit: int = 100) -> list[Job]:
    """Newest first; reconciles first so that a dead job is not shown as running."""
    reconcile(engine)
    with read_session(engine) as s:
        return list(s.scalars(select(Job).order_by(Job.id.desc()).limit(limit)))
