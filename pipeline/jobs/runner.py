"""The job runner (docs/jobs.md).

A job is a row in ``jobs`` plus, while it runs, a child process in its own process group that writes a
log file and a JSONL of metrics. Jobs queue in two lanes, cpu and gpu (``db.vocabulary.JOB_LANES``), each running
one job at a time, oldest first, so a multi-hour training never holds up a mining job. A lane worker
(``pipeline.jobs.worker``) takes a lane's jobs one after another, runs each in a process group of its
own, heartbeats, and when the job's process dies ends its whole tree and moves on to the next; the app
starts one whenever a lane has queued jobs and nothing running, unless ``SRADIT_<LANE>_WORKERS`` says
workers elsewhere (``sradit worker --lane gpu`` on a GPU server) serve that lane. A running job whose
worker is gone is marked failed by :func:`reconcile`, log kept.

What a job does is a kind of job of the job table (:mod:`pipeline.jobs.table`, ``Settings.job_table``): its
parameters are a dataclass, stored as JSON in the row and read back typed, and its handler takes ``(params,
ctx)`` and returns a JSON-able result. Both are looked up by name when the job runs, so this module needs no
knowledge of the services.
"""

from __future__ import annotations

import json
import os
import signal
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
from db.vocabulary import JOB_ACTIVE_STATUSES, JOB_LANES
from pipeline.audit import audit
from pipeline.errors import InputError, SraditError, failure_message
from pipeline.jobs.backend import backend_named, backend_of
from pipeline.jobs.claims import check_lane, is_foreground
from pipeline.jobs.processes import HOST, end_group
from pipeline.jobs.resources import LANE_DEFAULTS, Resources
from pipeline.jobs.table import load_table
from pipeline.settings import Settings

#: A worker writes a heartbeat on its running job this often; one silent for STALE_SECONDS is dead (a
#: worker on another machine can be judged by nothing else). Generous, as a SQLite writer may wait its turn.
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 120.0
ROOT = Path(__file__).resolve().parents[2]  # the checkout, so handlers in tests/ import in a worker too


@dataclass(frozen=True)
class RoundLink:
    """The round a job runs a stage of (by the round's driver or by hand), so the round finds it."""

    round_id: int
    stage: str


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
    actor: str = "job"  #: who asked for the job (its row's created_by), for the audit entries its work writes
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


def submit(
    engine: Engine,
    settings: Settings,
    params: Any,
    actor: str,
    lane: str = "cpu",
    kind: str | None = None,
    link: RoundLink | None = None,
    resources: Resources | None = None,
) -> int:
    """Queue the job whose parameters ``params`` are in its lane and start it if it may start; returns its id.
    ``kind`` (what the Jobs page shows and filters on) defaults to the job's name; ``resources`` (what it asks of
    a cluster) to its lane's.

    A job that cannot start writes no rows: its parameters and handler are checked first, a cluster is checked
    before the first job goes to it (:func:`pipeline.jobs.ray_backend.check_cluster`), and the job's folder is
    made and its log opened inside the transaction that adds its row and audit entry, so an unwritable data
    folder rolls both back.
    """
    check_lane(lane)
    stored, config = load_table(settings.job_table).encode(params)
    stored.type.load_handler()  # fail now, not in the worker
    kind = kind or stored.type.name
    if settings.job_backend == "ray":  # what it asks of the cluster, and which cluster has it
        from pipeline.jobs.ray_backend import check_cluster

        check_cluster(settings)
        config["resources"] = (resources or LANE_DEFAULTS[lane]).as_dict()
        config["ray_address"] = settings.ray_address
    with write_session(engine) as s:
        job = Job(
            kind=kind,
            status="queued",
            lane=lane,
            config=config,
            backend=settings.job_backend,
            created_by=actor,
            round_id=link.round_id if link else None,
            stage=link.stage if link else None,
        )
        s.add(job)
        s.flush()
        d = job_dir(settings, job.id)
        job.log_path, job.metrics_path = str(d / "log.txt"), str(d / "metrics.jsonl")
        _prepare_folder(d)
        audit(s, actor, "job.submit", f"job {job.id}", job=stored.type.name, kind=kind, lane=lane)
        job_id = job.id
    start_next(engine, settings, lane)
    return job_id


def _prepare_folder(d: Path) -> None:
    try:
        d.mkdir(parents=True, exist_ok=True)
        (d / "log.txt").open("ab").close()
    except OSError as e:
        raise SraditError(
            f"the job's folder {d} cannot be written ({e.strerror or e}); check SRADIT_DATA_DIR — no job was queued"
        ) from None


def start_next(engine: Engine, settings: Settings, lane: str | None = None) -> list[int]:
    """Start what may start of the queued jobs of each lane (or the one given) that is not paused, each on the
    backend its row names; returns the ids of the jobs started. Safe to call from anywhere, as often as wanted."""
    reconcile(engine)
    lanes = [ln for ln in ([check_lane(lane)] if lane else JOB_LANES) if ln not in settings.paused]
    with read_session(engine) as s:
        names = set(s.scalars(select(Job.backend).where(Job.status == "queued", Job.lane.in_(lanes)).distinct()))
    started: list[int] = []
    for name in sorted(names):
        started += backend_named(name, settings.ray_address).start_queued(engine, settings, lanes)
    return started


def job_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, **settings_env(settings)}


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings a job's process reads (``SRADIT_*``): this process's own, and where its data is."""
    return {
        **{k: v for k, v in os.environ.items() if k.startswith("SRADIT_")},
        "SRADIT_DB_URL": settings.db_url,
        "SRADIT_DATA_DIR": str(settings.data_dir.resolve()),
        "SRADIT_MODELS": str(settings.models.resolve()),
        "SRADIT_JOB_TABLE": settings.job_table,
        "SRADIT_JOB_BACKEND": settings.job_backend,
        "SRADIT_RAY_ADDRESS": settings.ray_address,
    }


def reconcile(engine: Engine) -> list[int]:
    """Mark running jobs whose work is gone as failed, each judged by its backend (a dead process or a stale
    heartbeat here, Ray's own verdict on a cluster; their logs stay), and end what is left of a local job's
    process tree; returns their ids."""
    now = utcnow()
    with read_session(engine) as s:
        running = list(s.scalars(select(Job).where(Job.status == "running")))
    dead = {j.id: why for j in running if (why := backend_of(j).death(j, now))}
    gone = []
    for job_id, why in dead.items():
        with write_session(engine) as s:
            job = s.get(Job, job_id)
            if job is None or job.status != "running":
                continue  # its worker recorded the end meanwhile
            job.status, job.finished_at, job.message = "failed", utcnow(), why
            pid, local = job.pid, job.backend == "local" and job.worker_host in (None, HOST)
        if pid is not None and local and not is_foreground(job):
            end_group(pid)  # loky/joblib and dataloader children of the dead worker go with it
        gone.append(job_id)
    return gone


def cancel(engine: Engine, job_id: int, actor: str) -> str:
    """Cancel a queued or running job; returns its status afterwards. A job running on another machine is
    stopped by its worker, which sees the cancel at its next heartbeat."""
    with write_session(engine) as s:
        job = s.get(Job, job_id)
        if job is None:
            raise SraditError(f"there is no job {job_id}")
        if job.status not in JOB_ACTIVE_STATUSES:
            return job.status
        started = job.status == "running" or job.backend_id is not None
        job.status, job.finished_at, job.message = "cancelled", utcnow(), f"cancelled by {actor}"
        audit(s, actor, "job.cancel", f"job {job_id}")
    if started:
        backend_of(job).stop(job)
    return "cancelled"


def record_end(engine: Engine, job_id: int, status: str, message: str | None, result: dict[str, Any] | None) -> bool:
    """Record how a running job ended; False if it had ended already (a cancel or a worker's verdict wins
    over whatever the handler managed meanwhile)."""
    with write_session(engine) as s:
        job = s.get(Job, job_id)
        if job is None or job.status != "running":
            return False
        job.status, job.finished_at, job.message, job.result = status, utcnow(), message, result
        if status == "succeeded":
            job.progress = 1.0
    return True


def run_job(engine: Engine, settings: Settings, job_id: int) -> int:
    """The body of ``python -m pipeline.jobs.job_process JOB_ID``: run the job and record how it ended."""

    def on_term(_sig: int, _frame: Any) -> None:
        raise Cancelled()

    signal.signal(signal.SIGTERM, on_term)
    with write_session(engine) as s:
        job = s.get(Job, job_id)
        if job is None or job.status != "running":
            print(f"job {job_id} is not waiting to run (status: {job.status if job else 'missing'})", flush=True)
            return 1
        job.pid = os.getpid()
        on_ray = job.backend == "ray"
        if on_ray:
            job.worker_host = HOST  # the cluster's node it runs on
        config, actor = dict(job.config), job.created_by or "job"
    _watch_worker(engine, job_id)
    code = 0
    print(
        f"job {job_id} ({config.get('job') or config.get('handler')}) started, pid {os.getpid()} on {HOST}", flush=True
    )
    if on_ray:  # what the cluster reserved for it (Ray sets CUDA_VISIBLE_DEVICES to the GPUs it gave)
        print(f"job {job_id}: Ray gave it GPUs {os.environ.get('CUDA_VISIBLE_DEVICES') or 'none'}", flush=True)
    try:
        stored = load_table(settings.job_table).decode(config)
        ctx = JobContext(engine, settings, job_id, actor=actor)
        result = stored.type.load_handler()(stored.params, ctx)
        record_end(engine, job_id, "succeeded", None, result)
        print(f"job {job_id} succeeded: {json.dumps(result, ensure_ascii=False)}", flush=True)
    except Cancelled:
        record_end(engine, job_id, "cancelled", "cancelled", None)
        print(f"job {job_id} cancelled", flush=True)
        code = 1
    except Exception as e:  # noqa: BLE001 — every failure is recorded on the job, with its traceback in the log
        traceback.print_exc()
        record_end(engine, job_id, "failed", failure_message(e), None)
        code = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return code


def _watch_worker(engine: Engine, job_id: int) -> None:
    """If the lane worker above this job dies, nobody heartbeats it or reaps its tree: end the job here."""
    worker = os.getppid()

    def watch() -> None:
        while os.getppid() == worker:
            time.sleep(1.0)
        record_end(engine, job_id, "failed", f"its lane worker (pid {worker}) died; see its log", None)
        print(f"job {job_id}: its lane worker (pid {worker}) died; ending the job", flush=True)
        os.killpg(os.getpgid(0), signal.SIGKILL)

    threading.Thread(target=watch, daemon=True).start()


def run_foreground(
    engine: Engine,
    settings: Settings,
    params: Any,
    actor: str,
    on_progress: Callable[[int, int], None] | None = None,
    lane: str = "cpu",
    kind: str | None = None,
    link: RoundLink | None = None,
    resources: Resources | None = None,
) -> dict[str, Any]:
    """Run the job whose parameters ``params`` are in this process (the CLI), visible to the UI while it runs. It
    runs at once, beside the queue: ``lane`` is where it would have queued, shown on the Jobs page, and holds no
    lane up. ``kind`` defaults to the job's name. With the ray backend the job runs on the cluster instead (with
    ``resources``) and this process follows it.

    A command refused for bad input writes nothing (docs/data-model.md): its job row is removed. A job that
    fails part-way is recorded as failed, since whatever it committed before (variants, say) stays.
    """
    if settings.job_backend == "ray":  # the cluster runs it; this process waits for it
        return _follow(engine, submit(engine, settings, params, actor, lane, kind, link, resources), on_progress)
    check_lane(lane)
    stored, config = load_table(settings.job_table).encode(params)
    fn = stored.type.load_handler()
    reconcile(engine)  # a foreground run killed earlier shows as failed, not running, beside this one
    with write_session(engine) as s:
        job = Job(
            kind=kind or stored.type.name,
            status="running",
            lane=lane,
            config={**config, "foreground": True},
            created_by=actor,
            pid=os.getpid(),
            worker_host=HOST,
            started_at=utcnow(),
            round_id=link.round_id if link else None,
            stage=link.stage if link else None,
        )
        s.add(job)
        s.flush()
        job_id = job.id
    try:
        result = fn(stored.params, JobContext(engine, settings, job_id, on_progress=on_progress, actor=actor))
    except InputError:
        with write_session(engine) as s:
            row = s.get(Job, job_id)
            if row is not None:
                s.delete(row)
        raise
    except KeyboardInterrupt:
        record_end(engine, job_id, "cancelled", "interrupted", None)
        raise
    except Exception as e:
        record_end(engine, job_id, "failed", failure_message(e), None)
        raise
    record_end(engine, job_id, "succeeded", None, result)
    return result


def _follow(engine: Engine, job_id: int, on_progress: Callable[[int, int], None] | None) -> dict[str, Any]:
    """A command's job sent to the cluster: wait for it, showing its progress; Ctrl-C cancels it there."""
    try:
        while True:
            reconcile(engine)
            job = job_status(engine, job_id)
            if on_progress is not None:
                on_progress(round(1000 * job.progress), 1000)
            if job.status not in JOB_ACTIVE_STATUSES:
                break
            time.sleep(1.0)
    except KeyboardInterrupt:
        cancel(engine, job_id, job.created_by or "cli")
        raise
    if job.status != "succeeded":
        raise SraditError(f"job {job_id} {job.status} on the Ray cluster: {job.message or 'no message'}")
    return dict(job.result or {})


def job_status(engine: Engine, job_id: int) -> Job:
    with read_session(engine) as s:
        job = s.get(Job, job_id)
        if job is None:
            raise SraditError(f"there is no job {job_id}")
        return job


def backend_log(engine: Engine, job_id: int) -> str | None:
    """The job's log as its backend has it (a Ray job's, from the cluster), or None: read its log file. A Ray job's
    log, once the job has ended, is also kept in its log file, so it outlives the cluster's memory of it."""
    job = job_status(engine, job_id)
    text = backend_of(job).logs(job)
    if text and job.status not in JOB_ACTIVE_STATUSES and job.log_path:
        try:
            kept = Path(job.log_path)
            if not kept.is_file() or kept.stat().st_size != len(text.encode()):
                kept.write_text(text, encoding="utf-8")
        except OSError:
            pass  # shown all the same
    return text


def list_jobs(engine: Engine, limit: int = 100) -> list[Job]:
    """Newest first; reconciles first so that a dead job is not shown as running."""
    reconcile(engine)
    with read_session(engine) as s:
        return list(s.scalars(select(Job).order_by(Job.id.desc()).limit(limit)))
