"""What a round will use and what it will cost: the models behind ``auto``, and the trainings, generations and
filter calls a configuration implies (shown on the Rounds page before a round starts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from db.engine import read_session
from db.models import Dataset, Record, RegisteredModel
from pipeline.domain.model_names import ensemble_name
from pipeline.errors import InputError
from pipeline.rounds.config import AUTO, NONE, RoundConfig
from pipeline.settings import Settings
from training.models.catalog import load_models


def _newest(engine: Engine, *conditions: Any) -> RegisteredModel | None:
    with read_session(engine) as s:
        return s.scalar(select(RegisteredModel).where(*conditions).order_by(RegisteredModel.id.desc()).limit(1))


def label_model(engine: Engine, cfg: RoundConfig, number: int, dataset: str) -> str | None:
    """The label filter's model; None for the baseline fitted on the round's dataset."""
    if cfg.label_model != AUTO:
        return None if cfg.label_model == "baseline" else cfg.label_model
    if not cfg.llm_learner:
        return None
    ensemble = ensemble_name(cfg.learner, number)
    if _newest(engine, RegisteredModel.name == ensemble) is not None:
        return ensemble
    # Policy mining trains no fold models: the SFT coder the previous round trained on this round's dataset.
    row = _newest(
        engine,
        RegisteredModel.kind == "sft",
        RegisteredModel.learner == cfg.learner,
        RegisteredModel.dataset == dataset,
        RegisteredModel.fold.is_(None),
        RegisteredModel.subtask.in_(("principal", "multi")),
    )
    if row is None:
        raise InputError(
            f"round {number}: label_model auto finds no SFT coder of {cfg.learner!r} trained on {dataset!r}; "
            "name one in label_model"
        )
    return row.name  # a pair's principal model: resolve pairs it with its -other sibling


def policy_model(engine: Engine, cfg: RoundConfig, number: int) -> str | None:
    """The policy filter's (and policy mining's) model: None when there is none yet or it is switched off."""
    if cfg.policy_model == NONE:
        return None
    if cfg.policy_model != AUTO:
        return cfg.policy_model
    row = _newest(
        engine,
        RegisteredModel.kind == "grpo",
        RegisteredModel.round_no < number,
        RegisteredModel.subtask.is_distinct_from("other"),
    )
    return row.name if row is not None else None


def mining_model(engine: Engine, cfg: RoundConfig, number: int) -> str:
    if cfg.mining == "kfold":
        return cfg.learner
    policy = policy_model(engine, cfg, number)
    if policy is None:
        raise InputError(
            f"round {number}: mining policy needs a GRPO policy from an earlier round and there is none "
            f"(policy_model: {cfg.policy_model}); mine round 1 with mining: kfold"
        )
    return policy


@dataclass(frozen=True)
class Cost:
    trainings: int
    generations: str
    filter_calls: str
    lines: list[str]


def cost(engine: Engine, settings: Settings, cfg: RoundConfig, dataset: str, badcases_guess: int | None) -> Cost:
    """What a round with ``cfg`` runs: trainings, rewrite generations and model calls of the filters."""
    specs = load_models(settings.models)
    spec = specs.get(cfg.learner)
    subtasks = len(spec.trained_subtasks) if spec is not None and spec.is_learner else 1
    with read_session(engine) as s:
        ds_id = s.scalar(select(Dataset.id).where(Dataset.name == dataset))
        records = (
            s.scalar(
                select(func.count()).where(
                    Record.dataset_id == ds_id, Record.origin == "original", Record.principal_code.is_not(None)
                )
            )
            or 0
        )
    lines = []
    if cfg.mining == "kfold" and cfg.llm_learner:
        mining_trainings = cfg.folds * subtasks
        lines.append(
            f"mining: {cfg.folds} folds × {subtasks} sub-task{'s' * (subtasks > 1)} = {mining_trainings} SFT "
            f"trainings, then {records} records × {subtasks} prompts predicted out of fold ({cfg.inference})"
        )
    elif cfg.mining == "kfold":
        mining_trainings = cfg.folds
        lines.append(f"mining: {cfg.folds} baseline fits (CPU, seconds), {records} records predicted out of fold")
    else:
        mining_trainings = 0
        lines.append(f"mining: the policy predicts {records} records ({cfg.inference}), no training")
    retrain = 2 * subtasks if cfg.llm_learner else 1 + cfg.folds
    what = f"{subtasks} SFT + {subtasks} GRPO" if cfg.llm_learner else f"1 baseline fit + {cfg.folds} out-of-fold fits"
    lines.append(f"retraining: {what}")
    bad = f"{badcases_guess}" if badcases_guess is not None else "badcases"
    generations = f"{bad} × {cfg.n} = {badcases_guess * cfg.n}" if badcases_guess is not None else f"badcases × {cfg.n}"
    lines.append(f"rewrites: {generations} ({cfg.generator}{', ' + cfg.rewrite_model if cfg.rewrite_model else ''})")
    calls = f"label filter: every variant ({generations.split('= ')[-1]})"
    calls += "; policy filter: the label filter's survivors only" if cfg.policy_model != NONE else "; no policy filter"
    lines.append(calls)
    total = mining_trainings + retrain
    lines.insert(0, f"{total} trainings in all" if cfg.llm_learner else "baseline only: minutes on a CPU")
    return Cost(total, generations, calls, lines)
