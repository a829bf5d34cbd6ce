"""What each stage of a round produced, typed: one dataclass per stage, stored together in ``rounds.results``
with a schema version.

Rows written before these types existed (schema 0: a free dict per stage) read back through
:meth:`RoundResults.from_json`: keys the types do not know are dropped, keys that changed name are mapped, and a
missing figure is ``None``, never a made-up default. Every reader of a round's results goes through these types.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, TypeVar

#: Version of the stored layout; 0 is the untyped dict of rounds stored before it.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Identified:
    """identifying: the mining run and the badcases it found."""

    stage: ClassVar[str] = "identifying"
    run_id: int | None = None
    model: str | None = None  #: the name that predicted (a learner, a registered model, file:NAME)
    score: float | None = None
    principal_accuracy: float | None = None
    other_f1: float | None = None
    badcases: int | None = None
    metric: str = "f1"  #: f1 | recall: which formula ``score`` is
    mining: str = "kfold"
    models: tuple[str, ...] = ()  #: registered names that mined (fold models and their ensemble)
    measured: str = "out-of-fold"  #: out-of-fold | in-sample (policy mining)
    seconds: float | None = None
    job_id: int | None = None


@dataclass(frozen=True)
class Generated:
    """generating: the rewrites written."""

    stage: ClassVar[str] = "generating"
    generated: int | None = None
    failed: int | None = None
    held_for_label_issues: int = 0
    models: tuple[str, ...] = ()  #: the rewrite LLM, or "rules"
    seconds: float | None = None
    job_id: int | None = None


@dataclass(frozen=True)
class Filtered:
    """filtering: how many variants each filter let through, and with which models."""

    stage: ClassVar[str] = "filtering"
    funnel: tuple[tuple[str, int], ...] = ()
    passed: int | None = None
    label_models: tuple[str, ...] = ()
    policy_models: tuple[str, ...] = ()
    policy: str = "not recorded"  #: how the policy filter ran, or why it was skipped
    seconds: float | None = None
    job_id: int | None = None


@dataclass(frozen=True)
class Reviewed:
    """in_review: what was selected, and by whom."""

    stage: ClassVar[str] = "in_review"
    selected: int | None = None
    approved_by: str | None = None  #: experts | filter chain | experts and filter chain
    by_experts: int | None = None
    by_filter_chain: int | None = None
    expert_minutes_per_approved: float | None = None
    expert_minutes_per_badcase: float | None = None


@dataclass(frozen=True)
class Augmented:
    """augmenting: the next dataset version."""

    stage: ClassVar[str] = "augmenting"
    dataset: str | None = None
    records: int | None = None
    added_variants: int = 0


@dataclass(frozen=True)
class Trained:
    """training: the models retrained on the augmented dataset and how they score on the round's records.

    ``sft`` and ``grpo`` keep an LLM learner's two sub-stages as their jobs returned them, so a killed training
    stage resumes with the one not done yet."""

    stage: ClassVar[str] = "training"
    models: tuple[str, ...] = ()
    seconds: float | None = None
    fixed: int | None = None
    still_wrong: int | None = None
    score_after: float | None = None
    principal_accuracy_after: float | None = None
    other_f1_after: float | None = None
    measured: str | None = None  #: out-of-fold (baseline) | in-sample (an LLM policy on its training records)
    measured_with: str | None = None
    metric: str = "f1"
    model_dir: str | None = None
    training_records: int | None = None
    sft: dict[str, Any] | None = None
    grpo: dict[str, Any] | None = None
    job_id: int | None = None


StageResult = Identified | Generated | Filtered | Reviewed | Augmented | Trained
STAGE_TYPES: tuple[type[StageResult], ...] = (Identified, Generated, Filtered, Reviewed, Augmented, Trained)
#: Keys of schema-0 rows that changed name.
_RENAMED = {"augmenting": {"merged": None}, "generating": {"held": "held_for_label_issues"}}
R = TypeVar("R", bound=StageResult)


def stage_result(kind: type[R], values: dict[str, Any]) -> R:
    """A stage's result from a mapping (a job's result, a stored row): unknown keys are dropped."""
    renamed = _RENAMED.get(kind.stage, {})
    known = {f.name: f for f in fields(kind)}
    clean: dict[str, Any] = {}
    for key, value in values.items():
        name = renamed.get(key, key)
        if name is None or name not in known:
            continue
        clean[name] = _typed(value, str(known[name].type))
    return kind(**clean)


def _typed(value: Any, annotation: str) -> Any:
    # JSON gives lists; the results are frozen, so their sequences are tuples (the funnel's pairs too).
    if isinstance(value, list) and annotation.startswith("tuple[tuple"):
        return tuple((str(a), int(b)) for a, b in value)
    if isinstance(value, list) and annotation.startswith("tuple"):
        return tuple(value)
    return value


@dataclass(frozen=True)
class RoundResults:
    """Every stage's result so far (None: not reached)."""

    identifying: Identified | None = None
    generating: Generated | None = None
    filtering: Filtered | None = None
    in_review: Reviewed | None = None
    augmenting: Augmented | None = None
    training: Trained | None = None
    schema: int = field(default=SCHEMA_VERSION)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RoundResults:
        data = data or {}
        stages = {kind.stage: stage_result(kind, data[kind.stage]) for kind in STAGE_TYPES if data.get(kind.stage)}
        return cls(**stages, schema=int(data.get("schema", 0)))  # type: ignore[arg-type]

    def with_stage(self, result: StageResult) -> RoundResults:
        return RoundResults(**{**self._stages(), result.stage: result}, schema=SCHEMA_VERSION)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": SCHEMA_VERSION}
        for stage, result in self._stages().items():
            if result is not None:
                out[stage] = asdict(result)
        return out

    def _stages(self) -> dict[str, StageResult | None]:
        return {kind.stage: getattr(self, kind.stage) for kind in STAGE_TYPES}

    def models(self) -> dict[str, list[str]]:
        """The registered names (both models of a pair) the round mined, filtered and trained with so far."""
        ident, filtering, training = self.identifying, self.filtering, self.training
        return {
            "mined": list(ident.models) if ident else [],
            "filtered": (list(filtering.label_models) + list(filtering.policy_models)) if filtering else [],
            "trained": list(training.models) if training else [],
        }

    def seconds(self) -> dict[str, float | None]:
        """Wall seconds of each model-backed stage (and an LLM learner's SFT and GRPO), for the report."""
        out: dict[str, float | None] = {
            kind.stage: getattr(getattr(self, kind.stage), "seconds", None)
            for kind in (Identified, Generated, Filtered, Trained)
        }
        if self.training is not None:
            for sub in ("sft", "grpo"):
                part = getattr(self.training, sub)
                if part is not None:
                    out[f"training: {sub}"] = part.get("seconds")
        return out
