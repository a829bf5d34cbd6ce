"""CoT distillation with a real teacher: the job handler behind `sradit cotd` (and any page that starts it).

The teacher is an LLM of the models file (``kind = "llm"``), loaded through the engine it names; the pipeline's
:func:`pipeline.distill.traces.generate_traces` writes the traces. Learners read them back with
:func:`pipeline.distill.traces.load_traces` when their models-file entry says ``cotd = true``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.vocabulary import PAIR_SUBTASKS
from pipeline.distill.traces import PROMPT_VERSION, check_request, generate_traces
from pipeline.errors import InputError
from pipeline.jobs.runner import JobContext
from pipeline.protocols import TextGenerator
from pipeline.settings import Settings
from training.models.catalog import ModelSpec, get_model


def teacher_spec(settings: Settings, name: str) -> ModelSpec:
    """The teacher's models-file entry; it must be an external LLM (a learner or the baseline cannot explain)."""
    spec = get_model(settings.models, name)
    if spec.kind != "llm":
        raise InputError(f'the teacher {name!r} is a {spec.kind} model, not an LLM (kind = "llm" in the models file)')
    return spec


def teacher_generator(spec: ModelSpec) -> TextGenerator:
    from training.engines import make_generator

    return make_generator(spec)


@dataclass(frozen=True)
class CotdParams:
    """The cotd job's. The teacher's ``max_tokens`` comes from its models-file entry."""

    teacher: str  #: an LLM of the models file
    dataset: str = "train"
    subtasks: tuple[str, ...] = PAIR_SUBTASKS
    batch_size: int = 16  #: prompts per call to the teacher
    temperature: float = 0.7
    max_attempts: int = 2  #: tries per record and sub-task before it fails

    def __post_init__(self) -> None:
        if not self.teacher:
            raise InputError("CoT distillation needs a teacher: --teacher NAME (an LLM of the models file)")


def cotd_job(params: CotdParams, ctx: JobContext) -> dict[str, Any]:
    """Job handler: one teacher trace per labelled record and sub-task of a dataset (resumable)."""
    teacher, dataset = params.teacher, params.dataset
    spec = teacher_spec(ctx.settings, teacher)
    chosen = check_request(ctx.engine, dataset, params.subtasks)  # refused before the model loads
    ctx.log(f"CoT distillation: teacher {teacher} ({spec.engine}), dataset {dataset}, sub-tasks {', '.join(chosen)}")
    report = generate_traces(
        ctx.engine,
        teacher_generator(spec),
        teacher,
        dataset,
        chosen,
        ctx.progress,
        params.batch_size,
        temperature=params.temperature,
        max_tokens=spec.max_tokens,
        max_attempts=params.max_attempts,
        actor=ctx.actor,
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
