"""Where a queued job runs: a backend behind the job runner (docs/jobs.md, "Backends").

A backend starts claimed jobs, says whether a running one is dead (and why), stops one, and gives its log. Two
implement it: ``local`` (:mod:`pipeline.jobs.local_backend`: lane workers on the app's machine, the default) and
``ray`` (:mod:`pipeline.jobs.ray_backend`: each job a Ray job on a cluster, through the Ray Jobs API). The job's
row records its backend (and, for Ray, its submission id), so a job keeps its backend whatever the settings say
later. Whatever the backend, the job itself runs the same way: ``python -m pipeline.jobs.job_process ID``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

from db.models import Job
from pipeline.settings import Settings


class JobBackend(Protocol):
    name: str

    def start_queued(self, engine: Engine, settings: Settings, lanes: list[str]) -> list[int]:
        """Claim and start what may start of the queued jobs of ``lanes``; returns their ids."""
        ...

    def death(self, job: Job, now: datetime) -> str | None:
        """Why a running job of this backend is dead (the message it is failed with), or None while it lives."""
        ...

    def stop(self, job: Job) -> None:
        """Stop a running job's work (its row is already marked cancelled)."""
        ...

    def logs(self, job: Job) -> str | None:
        """The job's log as the backend has it, or None to read the job's log file."""
        ...


def backend_named(name: str, address: str | None = None) -> JobBackend:
    """The backend of a job's row (``address``: the Ray cluster the row was submitted to)."""
    if name == "ray":
        from pipeline.jobs.ray_backend import RayBackend

        return RayBackend(address or "")
    from pipeline.jobs.local_backend import LocalBackend

    return LocalBackend()


def backend_of(job: Job) -> JobBackend:
    return backend_named(job.backend or "local", (job.config or {}).get("ray_address"))
