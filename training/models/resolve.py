"""One name, one model: the models file and the registry seen as a single list, and any name made a predictor.

Every ``--model`` flag and model picker goes through here, so a registered SFT model, a K-fold ensemble, an
external LLM and the built-in baseline are chosen the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from db.models import RegisteredModel
from pipeline.domain.model_names import ensemble_name, pair_sibling, pair_subtask
from pipeline.domain.vocabulary import MODEL_LIST_KINDS
from pipeline.errors import InputError
from pipeline.protocols import GoldScorer, Predictor
from training.models import registry
from training.models.catalog import ModelSpec, load_models
from training.models.ensemble import DEFAULT_MIN_SHARE, EnsemblePredictor, Member


@dataclass(frozen=True)
class ModelEntry:
    """A model as every picker shows it, whichever of the two places it comes from."""

    name: str
    kind: str  #: one of MODEL_LIST_KINDS
    subtask: str | None = None
    fold: int | None = None
    round_no: int | None = None
    dataset: str | None = None
    parent: str | None = None
    path: str | None = None
    learner: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    members: list[dict[str, Any]] = field(default_factory=list)
    spec: ModelSpec | None = None  #: the models-file entry, for baseline / external / learner

    def __post_init__(self) -> None:
        if self.kind not in MODEL_LIST_KINDS:
            raise InputError(f"model {self.name!r}: kind {self.kind!r} is not one of {', '.join(MODEL_LIST_KINDS)}")

    def columns(self) -> list[str]:
        """NAME KIND SUBTASK FOLD ROUND DATASET PARENT, ``-`` for none (whitespace-free cells)."""
        cells = [
            self.name,
            self.kind,
            self.subtask or "-",
            f"fold{self.fold}" if self.fold is not None else "-",
            f"r{self.round_no}" if self.round_no is not None else "-",
            self.dataset or "-",
            self.parent or "-",
        ]
        return [c.replace(" ", "_") for c in cells]


def _from_spec(spec: ModelSpec) -> ModelEntry:
    if spec.kind == "baseline":
        return ModelEntry(spec.name, "baseline", spec=spec)
    if spec.is_learner:
        return ModelEntry(spec.name, "learner", subtask=spec.subtasks, parent=spec.base, spec=spec)
    return ModelEntry(spec.name, "external", parent=spec.path or spec.url, path=spec.path, spec=spec)


def _from_row(row: RegisteredModel) -> ModelEntry:
    return ModelEntry(
        row.name,
        row.kind,
        subtask=row.subtask,
        fold=row.fold,
        round_no=row.round_no,
        dataset=row.dataset,
        parent=row.parent,
        path=row.path,
        learner=row.learner,
        config=dict(row.config or {}),
        metrics=dict(row.metrics or {}),
        members=list(row.members or []),
    )


def all_models(engine: Engine, models_file: Path) -> list[ModelEntry]:
    """The models file's entries (baseline first), then the registry, oldest first."""
    return [_from_spec(s) for s in load_models(models_file).values()] + [
        _from_row(r) for r in registry.registered(engine)
    ]


def find_model(engine: Engine, models_file: Path, name: str) -> ModelEntry:
    specs = load_models(models_file)
    if name in specs:
        return _from_spec(specs[name])
    row = registry.find(engine, name)
    if row is None:
        known = ", ".join(e.name for e in all_models(engine, models_file))
        raise InputError(f"no model named {name!r} (known: {known}); `sradit model list` shows them all")
    return _from_row(row)


def _serving_spec(entry: ModelEntry, inference: str | None) -> ModelSpec:
    """How a registered model predicts: the engine and settings its learner (or registration) recorded."""
    serving = entry.config.get("serving") or {}
    return ModelSpec(
        name=entry.name,
        kind="llm",
        engine=serving.get("engine", "transformers"),
        inference=inference or serving.get("inference", "greedy"),
        max_tokens=int(serving.get("max_tokens", 1500)),
        options=dict(serving.get("options") or {}),
    )


def _folders(engine: Engine, entry: ModelEntry) -> dict[str, str]:
    """The folders that answer for a registered SFT/GRPO model: itself, plus its sub-task sibling if any."""
    if not entry.path:
        raise InputError(f"model {entry.name!r} has no folder")
    if entry.subtask == "multi":
        return {"multi": entry.path}
    sibling_name = pair_sibling(entry.name)
    sibling = registry.find(engine, sibling_name) if sibling_name is not None else None
    if sibling is not None and sibling.path:
        mine, theirs = pair_subtask(entry.name), pair_subtask(sibling.name)
        assert mine is not None and theirs is not None  # only a pair member has a sibling
        return {entry.subtask or mine: entry.path, theirs: sibling.path}
    # A single model answers both prompts (a sub-task model asked the other prompt does what it can).
    return {"principal": entry.path, "other": entry.path}


def predictor_for(engine: Engine, models_file: Path, name: str, inference: str | None = None) -> Predictor | None:
    """The predictor of a model name; None for the baseline, which the caller fits on its training records."""
    from training.predictors import coder_predictor, endpoint_coder, llm_predictor

    entry = find_model(engine, models_file, name)
    if entry.kind == "baseline":
        return None
    if entry.kind == "learner":
        raise InputError(
            f"{name!r} is a learner: it is trained, not used as it is. Run `sradit kfold --model {name}`; "
            f"its ensemble ({ensemble_name(name, '<N>')}) and fold models then predict"
        )
    if entry.kind == "external":
        assert entry.spec is not None
        spec = entry.spec if inference is None else replace(entry.spec, inference=inference)
        return llm_predictor(spec)
    serving = _serving_spec(entry, inference)
    if entry.kind == "ensemble":
        members: list[tuple[Member, Callable[[], Predictor]]] = []
        remote = []
        for m in entry.members:
            meta = Member(int(m["fold"]), m.get("score"))
            endpoint = m.get("endpoint")
            if endpoint:
                served = dict(endpoint["models"])
                key = endpoint.get("api_key_env")
                members.append((meta, lambda u=endpoint["url"], s=served, k=key: endpoint_coder(serving, u, s, k)))
            else:
                folders = {k: v for k, v in m.get("folders", {}).items()}
                members.append((meta, lambda f=folders: coder_predictor(serving, f)))
            remote.append(bool(endpoint))
        share = float(entry.config.get("vote_share", DEFAULT_MIN_SHARE))
        most = entry.config.get("max_loaded_members")
        return EnsemblePredictor(
            members, min_share=share, remote=remote, max_loaded=int(most) if most is not None else None
        )
    return coder_predictor(serving, _folders(engine, entry))


def gold_scorer_for(engine: Engine, models_file: Path, name: str) -> GoldScorer:
    """The gold-answer scorer of a language model (training/gold_scorer.py): a registered SFT/GRPO model, an
    ensemble (its members' scores averaged) or an LLM of the models file with a local folder."""
    from training.gold_scorer import FolderScorer, MeanScorer

    entry = find_model(engine, models_file, name)
    if entry.kind == "ensemble":
        members = [m for m in entry.members if m.get("folders")]
        if len(members) != len(entry.members):
            raise InputError(f"ensemble {name!r}: the gold check reads model weights; its endpoint members have none")
        return MeanScorer([FolderScorer(dict(m["folders"])) for m in members])
    if entry.kind in ("sft", "grpo"):
        return FolderScorer(_folders(engine, entry))
    spec = entry.spec
    if entry.kind == "external" and spec is not None and spec.path and Path(spec.path).is_dir():
        return FolderScorer({"principal": spec.path, "other": spec.path})
    raise InputError(
        f"model {name!r} ({entry.kind}): the gold check scores answers with a model's weights; give a registered SFT "
        "model, an ensemble of them, or an LLM of the models file with a local path"
    )
