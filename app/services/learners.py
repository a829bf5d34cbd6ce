"""K-fold SFT with a learner (paper §2.1 BDA with the paper's coders): train per fold, mine out of fold, register.

For a learner of the models file, each fold gets its own SFT models (one per sub-task for a pair), trained on
the other folds only; each held-out fold is predicted by the models that did not see it; badcases are mined
from those out-of-fold predictions exactly as for the baseline. The fold models and their ensemble
(``<learner>-kfold-r<N>``, the paper's vote) are then registered with the round, in one transaction. A
failure leaves no round, no registered model and no fold folder behind.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select

from db.engine import read_session, write_session
from db.models import Prediction
from pipeline.distill.traces import load_traces
from pipeline.domain.model_names import ensemble_name
from pipeline.errors import InputError
from pipeline.jobs.runner import JobContext, job_dir
from pipeline.mining.kfold import MiningConfig, MiningReport, check_round, mine
from training.models import registry
from training.models.catalog import ModelSpec, load_models
from training.models.learners import SFTLearner


def base_folder(ctx: JobContext, spec: ModelSpec) -> str:
    """A learner's base: a folder, or the folder of a registered model."""
    base = spec.require("base")
    if Path(base).is_dir():
        return base
    row = registry.find(ctx.engine, base)
    if row is not None and row.path:
        return row.path
    raise InputError(f"learner {spec.name!r}: base {base!r} is neither a folder nor a registered model")


def fold_scores(ctx: JobContext, run_id: int) -> dict[int, float]:
    """Each fold's held-out score (competition score ×100 of its out-of-fold predictions)."""
    by_fold: dict[int, list[float]] = defaultdict(list)
    with read_session(ctx.engine) as s:
        for fold, value in s.execute(select(Prediction.fold, Prediction.score).where(Prediction.run_id == run_id)):
            if fold is not None and value is not None:
                by_fold[fold].append(value)
    return {f: round(100 * sum(v) / len(v), 4) for f, v in by_fold.items()}


def serving_of(spec: ModelSpec) -> dict[str, object]:
    """How a learner's trained models predict later (training.models.resolve reads it back)."""
    return {"engine": spec.engine, "inference": spec.inference, "max_tokens": spec.max_tokens, "options": spec.options}


@dataclass(frozen=True)
class LearnerMining:
    report: MiningReport
    ensemble: str
    fold_scores: dict[int, float]
    fold_models: list[str]


def kfold_learner(ctx: JobContext, spec: ModelSpec, cfg: MiningConfig, actor: str) -> LearnerMining:
    with read_session(ctx.engine) as s:
        round_no = check_round(s, cfg.round_no)
    cfg = replace(cfg, round_no=round_no)  # fixed now: the fold models are named after it
    base = base_folder(ctx, spec)
    traces = load_traces(ctx.engine, cfg.dataset) if spec.cotd else None
    if spec.cotd and not traces:
        raise InputError(
            f"learner {spec.name!r} asks for CoT distillation (cotd = true) but dataset {cfg.dataset!r} has no "
            "reasoning traces: run `sradit cotd --teacher NAME` first"
        )
    learner = SFTLearner(
        spec,
        base_path=base,
        round_no=round_no,
        models_dir=ctx.settings.workspace / "models",
        work_dir=job_dir(ctx.settings, ctx.job_id) / "kfold",
        traces=traces,
        log=ctx.log,
    )
    ens = ensemble_name(spec.name, round_no)
    names = [*learner.names(cfg.folds), ens]
    taken = registry.taken_names(ctx.engine, names) + [n for n in names if n in load_models(ctx.settings.models)]
    if taken:
        raise InputError(f"model names already taken: {', '.join(taken)} (a round's models are named after it)")
    try:
        runner = None
        if ctx.settings.job_backend == "ray":  # every fold × sub-task trains at once, each with its own GPUs
            from training.models.ray_folds import ray_fold_runner

            runner = ray_fold_runner(learner, ctx.log)
        report = mine(ctx.engine, learner.for_fold, cfg, actor, job_id=ctx.job_id, progress=ctx.progress, runner=runner)
        scores = fold_scores(ctx, report.run_id)
        serving = serving_of(spec)
        folds = [
            registry.identify(
                ctx.engine,
                registry.Registration(
                    name=m.name,
                    kind="sft",
                    path=m.path,
                    subtask=m.subtask,
                    fold=m.fold,
                    round_no=round_no,
                    dataset=cfg.dataset,
                    parent=spec.base,
                    learner=spec.name,
                    config={"sft": m.config, "serving": serving, "cotd": spec.cotd},
                    metrics={**m.metrics, "held_out_score": scores.get(m.fold), "metric": report.report.metric},
                    job_id=ctx.job_id,
                ),
            )
            for m in learner.trained
        ]
        with write_session(ctx.engine) as s:
            for reg in folds:
                registry.add(s, reg, actor)
            members = []
            for fold in range(cfg.folds):
                own = [m for m in learner.trained if m.fold == fold]
                members.append(
                    {
                        "fold": fold,
                        "score": scores.get(fold),
                        "models": {m.subtask: m.name for m in own},
                        "folders": {m.subtask: m.path for m in own},
                    }
                )
            registry.add(
                s,
                registry.Registration(
                    name=ens,
                    kind="ensemble",
                    subtask=spec.subtasks if spec.subtasks == "multi" else None,
                    round_no=round_no,
                    dataset=cfg.dataset,
                    parent=spec.base,
                    learner=spec.name,
                    config={"vote_share": spec.vote_share, "tie": "best held-out fold", "serving": serving},
                    metrics={"oof_score": report.report.score, "fold_scores": scores, "metric": report.report.metric},
                    members=members,
                    job_id=ctx.job_id,
                ),
                actor,
            )
    except BaseException:
        for m in learner.trained:
            shutil.rmtree(m.path, ignore_errors=True)
        raise
    ctx.log(f"registered {len(learner.trained)} fold models and the ensemble {ens}")
    return LearnerMining(report, ens, scores, [m.name for m in learner.trained])
