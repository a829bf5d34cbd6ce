"""Taking a queued job to run, race-free on SQLite and PostgreSQL.

SQLite serialises every write transaction (BEGIN IMMEDIATE), so a claim there is alone. On PostgreSQL
the queued row is locked ``FOR UPDATE SKIP LOCKED``: two workers claiming at once get different jobs and
neither waits. "One running job per lane" (the app's own launcher) is a check of rows that may not exist
yet, which no row lock covers, so there a transaction-scoped advisory lock per lane serialises it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.base import utcnow
from db.models import Job
from db.vocabulary import JOB_LANES
from pipeline.errors import SraditError
from pipeline.jobs.processes import HOST

_ADVISORY_KEY = 0x5AD17  # + the lane's index: a number of this tool's own among advisory locks


def check_lane(lane: str) -> str:
    if lane not in JOB_LANES:
        raise SraditError(f"lane {lane!r} is not one of {', '.join(JOB_LANES)}")
    return lane


def is_foreground(job: Job) -> bool:
    """A job a `sradit` command runs in its own terminal: outside the queue, beside the lanes' jobs."""
    return bool((job.config or {}).get("foreground"))


def lane_busy(s: Session, lane: str) -> bool:
    """Whether a queued job of the lane is running now (foreground commands do not count)."""
    running = s.scalars(select(Job).where(Job.status == "running", Job.lane == lane, Job.backend == "local"))
    return any(not is_foreground(j) for j in running)


def claim(s: Session, lane: str, *, exclusive: bool, host: str = HOST, backend: str = "local") -> Job | None:
    """Mark the lane's oldest queued job of ``backend`` running for a worker on ``host``, in the caller's write
    session.

    ``exclusive``: only if no other job of the lane runs (a lane worker, one job per lane); the ray backend
    claims every queued job, as Ray's own queue decides what runs when.
    """
    check_lane(lane)
    if exclusive:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(select(func.pg_advisory_xact_lock(_ADVISORY_KEY + JOB_LANES.index(lane))))
        if lane_busy(s, lane):
            return None
    job = s.scalar(
        select(Job)
        .where(Job.status == "queued", Job.lane == lane, Job.backend == backend)
        .order_by(Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if job is None:
        return None
    now = utcnow()
    job.status, job.started_at, job.heartbeat_at, job.worker_host, job.pid = "running", now, now, host, None
    s.flush()
    return job
