"""Jobs as the pages see them: submit (in the lane the work needs), cancel, and read progress, log tail and
metrics."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from db.engine import read_session
from db.vocabulary import JOB_ACTIVE_STATUSES
from pipeline.domain.model_names import is_file_model
from pipeline.errors import SraditError
from pipeline.jobs import runner as jobs
from pipeline.jobs.params import to_json
from pipeline.jobs.resources import DRIVER, LANE_DEFAULTS, Resources
from pipeline.jobs.table import load_table
from pipeline.settings import Settings

#: The params naming a model that predicts or generates, in the jobs that take one (jobs marked gpu in the job
#: table need a GPU whatever they name).
MODEL_PARAMS = ("model", "label_model", "policy_model", "learner", "teacher")


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    lane: str
    status: str
    progress: float
    message: str | None
    created_by: str | None
    created_at: str
    result: dict[str, Any] | None
    log_path: str | None
    metrics_path: str | None
    round_no: int | None  #: the round it drives or runs a stage of
    stage: str | None
    backend: str  #: local or ray
    backend_id: str | None  #: its Ray job's submission id (ray)
    node: str | None  #: the machine it runs on
    started_at: float | None = None  #: when it started running (seconds since the epoch)

    @property
    def summary(self) -> str:
        """One line for a list of jobs: why it failed or was cancelled, else the first thing it reported."""
        if self.message:
            return self.message
        lines = (self.result or {}).get("lines") or []
        return str(lines[0]) if lines else ""


def _view(j: Any) -> JobView:
    return JobView(
        j.id,
        j.kind,
        j.lane,
        j.status,
        j.progress,
        j.message,
        j.created_by,
        j.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        j.result,
        j.log_path,
        j.metrics_path,
        j.round.number if j.round is not None else None,
        j.stage,
        j.backend,
        j.backend_id,
        j.worker_host,
        j.started_at.timestamp() if j.started_at else None,
    )


def recent_jobs(
    engine: Engine, kind: str | None = None, limit: int = 50, settings: Settings | None = None
) -> list[JobView]:
    """Newest first. With ``settings``, also starts what a dead worker held up (the page polls this)."""
    if settings is not None:
        jobs.start_next(engine, settings)
    return [_view(j) for j in jobs.list_jobs(engine, limit) if kind is None or j.kind == kind]


def get_job(engine: Engine, job_id: int) -> JobView:
    jobs.reconcile(engine)
    return _view(jobs.job_status(engine, job_id))


def submit(engine: Engine, settings: Settings, params: Any, actor: str, kind: str | None = None) -> int:
    """Queue the job whose parameters ``params`` are (a dataclass of the job table) in the lane it needs, asking a
    cluster for what it needs."""
    lane = lane_for(settings, params)
    return jobs.submit(engine, settings, params, actor, lane, kind, resources=resources_for(engine, settings, params))


def run_command(
    engine: Engine,
    settings: Settings,
    params: Any,
    actor: str,
    on_progress: Callable[[int, int], None] | None = None,
    kind: str | None = None,
    link: jobs.RoundLink | None = None,
) -> dict[str, Any]:
    """A `sradit` command's job, or a round's stage: run here (or, with the ray backend, on the cluster) in the
    lane and with the resources it needs; see :func:`pipeline.jobs.runner.run_foreground`."""
    lane, resources = lane_for(settings, params), resources_for(engine, settings, params)
    return jobs.run_foreground(engine, settings, params, actor, on_progress, lane, kind, link, resources)


def resources_for(engine: Engine, settings: Settings, params: Any) -> Resources:
    """What the job asks of a cluster (docs/jobs.md, "Backends"): a job that only drives others (a round; K-fold of
    a learner, which sends each fold's training as a task of its own) nothing; a round's stage the round's
    ``resources`` if its config sets them; otherwise those of the models file's entry for the model it runs (the
    learner, for training), or its lane's default."""
    job = load_table(settings.job_table).of(params)
    values = to_json(params)
    if job.name == "round":
        return DRIVER
    if job.name == "framework-train":  # the trainer spreads over the GPUs it is told of
        return Resources(gpus=float(values["gpus"]), cpus=LANE_DEFAULTS["gpu"].cpus)
    from training.models.catalog import load_models

    models = load_models(settings.models)
    if job.name == "kfold" and getattr(models.get(values.get("model") or ""), "is_learner", False):
        return DRIVER
    round_no = values.get("round_no")
    learner = None
    if isinstance(round_no, int):
        from pipeline.rounds.lookup import handle, maybe_round

        with read_session(engine) as s:
            row = maybe_round(s, round_no)
            cfg = handle(row).config if row is not None else None
        if cfg is not None and cfg.resources is not None:
            return Resources.read(cfg.resources, f"round {round_no}'s config", LANE_DEFAULTS["gpu"])
        learner = cfg.learner if cfg is not None and job.name.startswith("retrain") else None
    for name in (learner, *(values.get(k) for k in MODEL_PARAMS)):
        spec = models.get(name) if isinstance(name, str) else None
        if spec is not None and spec.resources is not None:
            return spec.resources
    return LANE_DEFAULTS[lane_for(settings, params)]


def lane_for(settings: Settings, params: Any) -> str:
    """gpu for training and LLM generation (an LLM learner, generator, filter model or teacher), cpu for
    the rest (baseline mining, rule rewrites, filters, exports, the demo)."""
    job = load_table(settings.job_table).of(params)
    values = to_json(params)
    if job.gpu:
        return "gpu"
    if job.name == "round":
        cfg = values["config"]
        llm = cfg.get("generator") == "llm" or cfg.get("mining") == "policy"
        return "gpu" if llm or any(_needs_gpu(settings, cfg.get(k)) for k in MODEL_PARAMS) else "cpu"
    if job.name == "rewrite" and values["generator"] == "llm":
        return "gpu"
    return "gpu" if any(_needs_gpu(settings, values.get(k)) for k in MODEL_PARAMS) else "cpu"


def _needs_gpu(settings: Settings, name: Any) -> bool:
    """Whether a model name is an LLM: any but the baseline, "auto" (the round's own choice, judged by its
    learner) and "none"; a name the models file lacks is a registered (trained) model, an LLM."""
    if not isinstance(name, str) or name in ("", "baseline", "auto", "none") or is_file_model(name):
        return False  # predictions made elsewhere, read from a file
    from training.models.catalog import get_model

    try:
        return get_model(settings.models, name).kind != "baseline"
    except SraditError:
        return True


def cancel(engine: Engine, job_id: int, actor: str) -> str:
    return jobs.cancel(engine, job_id, actor)


_PROGRESS_BAR = re.compile(r"\d+%\|.*\|\s*\d+/\d+\s*\[")


def clean_log(text: str) -> list[str]:
    """A log as a person reads it: a progress bar redrawn with carriage returns keeps only its last state, and
    progress-bar-only lines (tqdm's) are left out."""
    out = []
    for line in text.splitlines():
        last = line.split("\r")[-1].rstrip()
        if last and not _PROGRESS_BAR.search(last):
            out.append(last)
    return out


def log_tail(engine: Engine, view: JobView, lines: int = 200) -> str:
    """The end of a job's log (a Ray job's from the cluster, while it has it); for a job that ran in a terminal
    (`sradit …`), what it reported instead."""
    if view.backend != "local":
        text = jobs.backend_log(engine, view.id)
        if text is not None:
            return "\n".join(clean_log(text)[-lines:])
    if view.log_path and Path(view.log_path).is_file():
        return "\n".join(clean_log(Path(view.log_path).read_text(encoding="utf-8", errors="replace"))[-lines:])
    if view.status in JOB_ACTIVE_STATUSES:
        return ""
    reported = list((view.result or {}).get("lines") or [])
    where = (
        f"this stage ran inside the process that drove round {view.round_no} (its round job here, or `sradit round "
        "start` in a terminal); its output went there"
        if view.round_no is not None and view.kind != "round"
        else "this job ran in a terminal through `sradit`; its output went there"
    )
    return "\n".join(
        [f"({where} — what it reported:)", *reported]
        if reported
        else [f"({where}; it ended {view.status}: {view.message or 'no message'})"]
    )


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
