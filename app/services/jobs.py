"""Jobs as the pages see them: submit, cancel, and read progress, log tail and metrics."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from pipeline.jobs import runner as jobs
from pipeline.settings import Settings


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    status: str
    progress: float
    message: str | None
    created_by: str | None
    created_at: str
    result: dict[str, Any] | None
    log_path: str | None
    metrics_path: str | None


def _view(j: Any) -> JobView:
    return JobView(
        j.id,
        j.kind,
        j.status,
        j.progress,
        j.message,
        j.created_by,
        j.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        j.result,
        j.log_path,
        j.metrics_path,
    )


def recent_jobs(engine: Engine, kind: str | None = None, limit: int = 50) -> list[JobView]:
    return [_view(j) for j in jobs.list_jobs(engine, limit) if kind is None or j.kind == kind]


def get_job(engine: Engine, job_id: int) -> JobView:
    jobs.reconcile(engine)
    return _view(jobs.job_status(engine, job_id))


def submit(engine: Engine, settings: Settings, kind: str, handler: str, params: dict[str, Any], actor: str) -> int:
    return jobs.submit(engine, settings, kind, handler, params, actor)


def cancel(engine: Engine, job_id: int, actor: str) -> str:
    return jobs.cancel(engine, job_id, actor)


def log_tail(view: JobView, lines: int = 200) -> str:
    if not view.log_path or not Path(view.log_path).is_file():
        return ""
    return "\n".join(Path(view.log_path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def metrics(view: JobView) -> list[dict[str, Any]]:
    if not view.metrics_path or not Path(view.metrics_path).is_file():
        return []
    out = []
    for line in Path(view.metrics_path).read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line being written right now
    return out
