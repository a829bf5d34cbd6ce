"""CoT distillation with a real teacher: the job handler behind `sradit cotd` (and any page that starts it).

The teacher is an LLM of the models file (``kind = "llm"``), loaded through the engine it names; the pipeline's
:func:`pipeline.distill.traces.generate_traces` writes the traces. Learners read them back with
:func:`pipeline.distill.traces.load_traces` when their models-file entry says ``cotd = true``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline.distill.traces import PROMPT_VERSION, check_request, generate_traces
from pipeline.errors import InputError
from pipeline.jobs.runner import JobContext
from pipeline.protocols import TextGenerator
from pipeline.settings import Settings
from training.models.catalog import ModelSpec, get_model

COTD_HANDLER = "app.services.distill:cotd_job"
DEFAULT_SUBTASKS = ("principal", "other")


def teacher_spec(settings: Settings, name: str) -> ModelSpec:
    """The teacher's models-file entry; it must be an external LLM (a learner or the baseline cannot explain)."""
    spec = get_model(settings.models, name)
    if spec.kind != "llm":
        raise InputError(f'the teacher {name!r} is a {spec.kind} model, not an LLM (kind = "llm" in the models file)')
    return spec


def teacher_generator(spec: ModelSpec) -> TextGenerator:
    from training.engines import make_generator

    return make_generator(spec)


def cotd_params(
    teacher: str,
    dataset: str = "train",
    subtasks: Iterable[str] = DEFAULT_SUBTASKS,
    actor: str = "job",
    *,
    batch_size: int = 16,
    temperature: float = 0.7,
    max_attempts: int = 2,
) -> dict[str, Any]:
    return {
        "teacher": teacher,
        "dataset": dataset,
        "subtasks": list(subtasks),
        "actor": actor,
        "batch_size": batch_size,
        "temperature": temperature,
        "max_attempts": max_attempts,
    }


def cotd_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Job handler: one teacher trace per labelled record and sub-task of a dataset (resumable).

    params: ``teacher`` (a models-file LLM), ``dataset``, ``subtasks`` (list or comma-separated), ``actor``,
    and optionally ``batch_size``, ``temperature``, ``max_attempts``. The teacher's ``max_tokens`` comes from
    its models-file entry."""
    teacher = str(params.get("teacher") or "")
    if not teacher:
        raise InputError("CoT distillation needs a teacher: --teacher NAME (an LLM of the models file)")
    dataset = str(params.get("dataset") or "train")
    subtasks = params.get("subtasks") or DEFAULT_SUBTASKS
    if isinstance(subtasks, str):
        subtasks = subtasks.split(",")
    spec = teacher_spec(ctx.settings, teacher)
    chosen = check_request(ctx.engine, dataset, subtasks)  # refused before the model loads
    ctx.log(f"CoT distillation: teacher {teacher} ({spec.engine}), dataset {dataset}, sub-tasks {', '.join(chosen)}")
    report = generate_traces(
        ctx.engine,
        teacher_generator(spec),
        teacher,
        dataset,
        chosen,
        ctx.progress,
        int(params.get("batch_size", 16)),
        temperature=float(params.get("temperature", 0.7)),
        max_tokens=spec.max_tokens,
        max_attempts=int(params.get("max_attempts", 2)),
        actor=str(params.get("actor", "job")),
    )
    ctx.metric(traces=report.generated, failed=report.failed, skipped=report.skipped)
    return {
        "teacher": teacher,
        "dataset": dataset,
        "prompt_version": PROMPT_VERSION,
        "traces": report.generated,
        "failed": report.failed,
        "skipped": report.skipped,
        "reasons": dict(report.reasons),
        "lines": report.lines(),
    }
