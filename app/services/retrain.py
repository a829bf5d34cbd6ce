"""Retraining inside a round (paper figure 3, "merge → retrain"): the jobs behind a round's training stage.

- The baseline learner: refitted on the augmented dataset and measured out of fold, as it was mined.
- An LLM learner: SFT of its base on the augmented dataset (one model per sub-task for a pair, one for
  multi), then GRPO from each SFT model with the paper's rewards (:mod:`training.grpo`: dynamic difficulty
  calibration, token-level loss, overlong shaping). Each model is registered as soon as it is trained, with
  the round as its lineage and the sha256 of its weights, so a stage that is killed and run again trains only
  what is not registered yet: exactly one model per stage and sub-task.

After GRPO the new policy predicts the round's original records; those figures are **in-sample** (the policy
trained on them) and are labelled so wherever they are shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from app.services.learners import base_folder, serving_of
from db.engine import read_session
from db.models import Badcase, Dataset
from pipeline.distill.traces import load_traces
from pipeline.domain.metric import score
from pipeline.domain.model_names import grpo_name, sft_name
from pipeline.domain.records import ID_KEY
from pipeline.errors import InputError, NotLearned
from pipeline.jobs.runner import JobContext, job_dir
from pipeline.mining.badcases import diagnose
from pipeline.mining.folds import assign_folds
from pipeline.mining.kfold import labelled_records, merged_variants, oof_predictions, record_dict
from pipeline.rounds.lookup import get_round, round_id
from training.models import registry
from training.models.catalog import ModelSpec, get_model
from training.models.learners import SFTLearner, grpo_training_rows
from training.predictors import BaselineLearner

ROOT = Path(__file__).resolve().parents[2]
#: What a GRPO model's registration records of its run (training/grpo.py: run_grpo and learning_evidence).
_GRPO_METRICS = (
    "train_loss",
    "global_step",
    "train_rows",
    "dropped_groups",
    "refilled_groups",
    "masked_groups",
    "calibration_stable",
    "learned",
    "tensors_changed",
    "tensors_total",
    "frac_reward_zero_std",
)


@dataclass(frozen=True)
class RetrainParams:
    """A round's retraining stage: which round (its config names the learner, its results the dataset)."""

    round_no: int


@dataclass(frozen=True)
class BaselineRetrainParams(RetrainParams):
    """The baseline refitted (:func:`baseline_job`)."""


@dataclass(frozen=True)
class SFTRetrainParams(RetrainParams):
    """SFT of an LLM learner (:func:`sft_job`)."""


@dataclass(frozen=True)
class GRPORetrainParams(RetrainParams):
    """GRPO from the round's SFT models (:func:`grpo_job`)."""


def _round_data(engine: Engine, number: int) -> tuple[Any, str, list[dict[str, str]]]:
    """(the round's config, its augmented dataset, every labelled record of it: originals and merged variants)."""
    r = get_round(engine, number)
    dataset = r.results.augmenting.dataset if r.results.augmenting else None
    with read_session(engine) as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == dataset))
        if ds is None:
            raise InputError(f"round {number}: the augmented dataset {dataset!r} is missing")
        rows = [record_dict(x) for x in labelled_records(s, dataset)]
        rows += [row for _parent, row in merged_variants(s, ds.id)]
    return r.config, dataset, rows


def _learner(ctx: JobContext, cfg: Any) -> ModelSpec:
    spec = get_model(ctx.settings.models, cfg.learner)
    if not spec.is_learner:
        raise InputError(f'round learner {cfg.learner!r} is a {spec.kind} model, not a learner (kind = "sft")')
    return spec


def sft_job(params: SFTRetrainParams, ctx: JobContext) -> dict[str, Any]:
    """SFT of the learner's base on the round's augmented dataset, per sub-task, each registered once."""
    number = params.round_no
    cfg, dataset, rows = _round_data(ctx.engine, number)
    spec = _learner(ctx, cfg)
    learner = SFTLearner(
        spec,
        base_path=base_folder(ctx, spec),
        round_no=number,
        models_dir=ctx.settings.workspace / "models",
        work_dir=job_dir(ctx.settings, ctx.job_id),
        traces=load_traces(ctx.engine, dataset) if spec.cotd else None,
        log=ctx.log,
        on_progress=ctx.progress,
    )
    names = []
    for subtask in spec.trained_subtasks:
        name = sft_name(spec.name, number, subtask)
        names.append(name)
        if registry.find(ctx.engine, name) is not None:
            ctx.log(f"{name} is registered already: not trained again")
            continue
        model = learner.train_model(
            name, subtask, rows, on_metric=lambda line, n=name: ctx.metric(**{**line, "model": n})
        )
        registry.register(
            ctx.engine,
            registry.Registration(
                name=name,
                kind="sft",
                path=model.path,
                subtask=subtask,
                round_no=number,
                dataset=dataset,
                parent=spec.base,
                learner=spec.name,
                config={"sft": model.config, "serving": serving_of(spec), "cotd": spec.cotd},
                metrics=model.metrics,
                job_id=ctx.job_id,
            ),
            ctx.actor,
        )
    preview = _reward_preview(ctx, cfg, spec, rows, names)
    lines = [f"SFT registered: {', '.join(names)}"]
    lines += [f"reward preview of {name}: {p['advice']}" for name, p in preview.items()]
    for line in lines[1:]:
        ctx.log(line)
    return {"models": names, "reward_preview": preview, "lines": lines}


def _reward_preview(
    ctx: JobContext, cfg: Any, spec: ModelSpec, rows: list[dict[str, str]], names: list[str]
) -> dict[str, dict[str, Any]]:
    """Each new SFT model sampled on ``cfg.reward_preview`` of its GRPO prompts as GRPO will sample them
    (training/reward_preview.py): will GRPO have a learning signal?"""
    import random

    from training.engines import make_generator
    from training.reward_preview import preview_rewards
    from training.train_entry import load_config

    if not cfg.reward_preview:
        return {}
    grpo = load_config("grpo", grpo_config_path(cfg.grpo_config))
    serving = serving_of(spec)
    out = {}
    for name in names:
        model = registry.find(ctx.engine, name)
        assert model is not None and model.path  # registered just above (or by an earlier run of this stage)
        prompts = grpo_training_rows(rows, model.subtask or "multi")
        sample = random.Random(cfg.seed).sample(prompts, min(cfg.reward_preview, len(prompts)))
        engine = ModelSpec(name=name, kind="llm", engine=str(serving.get("engine") or "transformers"), path=model.path)
        preview = preview_rewards(
            make_generator(engine),
            sample,
            num_generations=grpo.num_generations,
            temperature=grpo.temperature,
            max_tokens=grpo.max_completion_length,
            seed=cfg.seed,
        )
        out[name] = preview.as_dict()
    return out


def grpo_config_path(value: str) -> Path:
    """A round's grpo_config: as given, or relative to the project (the shipped configs/…)."""
    for path in (Path(value), ROOT / value):
        if path.is_file():
            return path
    raise InputError(f"grpo_config {value!r}: no such file (relative paths are read from the project folder)")


def grpo_job(params: GRPORetrainParams, ctx: JobContext) -> dict[str, Any]:
    """GRPO from each of the round's SFT models, then the new policy's in-sample figures on the round's records."""
    from training.grpo import run_grpo
    from training.sft import config_dict
    from training.train_entry import load_config

    number = params.round_no
    cfg, dataset, rows = _round_data(ctx.engine, number)
    spec = _learner(ctx, cfg)
    config_file = grpo_config_path(cfg.grpo_config)
    names = []
    for subtask in spec.trained_subtasks:
        name, parent_name = grpo_name(spec.name, number, subtask), sft_name(spec.name, number, subtask)
        names.append(name)
        if registry.find(ctx.engine, name) is not None:
            ctx.log(f"{name} is registered already: not trained again")
            continue
        parent = registry.find(ctx.engine, parent_name)
        if parent is None or not parent.path:
            raise InputError(f"round {number}: GRPO starts from {parent_name!r}, which is not registered")
        folder = job_dir(ctx.settings, ctx.job_id)
        folder.mkdir(parents=True, exist_ok=True)
        train_file = folder / f"{name}.jsonl"
        with train_file.open("w", encoding="utf-8") as f:
            for row in grpo_training_rows(rows, subtask):
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        out = ctx.settings.workspace / "models" / name
        run = replace(
            load_config("grpo", config_file),
            model_path=parent.path,
            train_file=str(train_file),
            output_dir=str(out),
            tasks=None,
            eval_file=None,
            metrics_file=None,
        )
        ctx.log(f"GRPO {name}: {subtask} on {len(rows)} records from {parent_name} → {out}")
        result = run_grpo(
            run, on_metric=lambda line, n=name: ctx.metric(**{**line, "model": n}), on_progress=ctx.progress
        )
        metrics = {k: result.get(k) for k in _GRPO_METRICS}
        if result.get("learned") is False:
            if not cfg.keep_unlearned_policy:
                raise NotLearned(
                    f"round {number}: GRPO {name} is not registered as the round's policy: {result['no_learning']}. "
                    "Give GRPO a reward spread (a higher temperature, more generations, other prompts), or keep it "
                    "anyway: keep_unlearned_policy: true in the round config, then `sradit round start --config FILE`"
                )
            ctx.log(f"GRPO {name} learned nothing ({result['no_learning']}); kept as asked (keep_unlearned_policy)")
        registry.register(
            ctx.engine,
            registry.Registration(
                name=name,
                kind="grpo",
                path=str(out),
                subtask=subtask,
                round_no=number,
                dataset=dataset,
                parent=parent_name,
                learner=spec.name,
                config={"grpo": config_dict(run), "serving": serving_of(spec)},
                metrics=metrics,
                job_id=ctx.job_id,
            ),
            ctx.actor,
        )
    after = _in_sample_after(ctx, number, cfg, names[0])
    return {
        "models": names,
        **after,
        "calibration": _calibration(ctx.engine, names),
        "lines": [f"GRPO registered: {', '.join(names)}"],
    }


def _calibration(engine: Engine, names: list[str]) -> dict[str, Any]:
    """The dynamic difficulty calibration over the round's GRPO models (a resumed stage included: read from what
    each registration recorded): how many reached a stable window, and the groups dropped, refilled, masked."""
    metrics = [(m.metrics or {}) if (m := registry.find(engine, n)) else {} for n in names]
    return {
        "stable": sum(bool(x.get("calibration_stable")) for x in metrics),
        "models": len(names),
        **{k: sum(int(x.get(k) or 0) for x in metrics) for k in ("dropped_groups", "refilled_groups", "masked_groups")},
    }


def _badcases(engine: Engine, number: int) -> dict[str, Any]:
    with read_session(engine) as s:
        rid = round_id(s, number)
        return {b.record.case_id: b for b in s.scalars(select(Badcase).where(Badcase.round_id == rid))}


def _in_sample_after(ctx: JobContext, number: int, cfg: Any, policy: str) -> dict[str, Any]:
    """The new policy on the round's original records (which it trained on: in-sample)."""
    from training.models.resolve import predictor_for

    with read_session(ctx.engine) as s:
        recs = labelled_records(s, cfg.dataset)
    predictor = predictor_for(ctx.engine, ctx.settings.models, policy, inference=cfg.inference)
    assert predictor is not None  # a registered GRPO model always predicts
    preds = predictor.predict([record_dict(x) for x in recs], progress=ctx.progress)
    predicted = {x.case_id: p for x, p in zip(recs, preds, strict=True)}
    return _after(ctx, number, cfg, recs, predicted, measured="in-sample", model=policy)


def _after(
    ctx: JobContext, number: int, cfg: Any, recs: list[Any], predicted: dict[str, Any], measured: str, model: str
) -> dict[str, Any]:
    gold = {x.case_id: (x.principal_code, x.other_codes or []) for x in recs}
    after = score(gold, {cid: (p.principal, list(p.others)) for cid, p in predicted.items()}, ctx.settings.metric)
    bad = _badcases(ctx.engine, number)
    fixed = sum(
        not diagnose(
            b.gold_principal, gold[cid][1], predicted[cid].principal, predicted[cid].others, cfg.threshold
        ).is_badcase
        for cid, b in bad.items()
        if cid in predicted
    )
    ctx.metric(score_after=after.score, fixed=fixed)
    return {
        "score_after": after.score,
        "principal_accuracy_after": after.principal_accuracy,
        "other_f1_after": after.other_f1,
        "fixed": fixed,
        "still_wrong": len(bad) - fixed,
        "measured": measured,
        "measured_with": model,
        "metric": after.metric,
    }


def baseline_job(params: BaselineRetrainParams, ctx: JobContext) -> dict[str, Any]:
    """Refit the baseline on the augmented dataset and measure it the way it was mined: out of fold on the
    original records (merged variants train, never in their parent's fold)."""
    number = params.round_no
    r = get_round(ctx.engine, number)
    cfg = r.config
    dataset = r.results.augmenting.dataset if r.results.augmenting else None
    with read_session(ctx.engine) as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == dataset))
        if ds is None:
            raise InputError(f"round {number}: the augmented dataset {dataset!r} is missing")
        recs = labelled_records(s, dataset)
        variants = merged_variants(s, ds.id)
    rows = [record_dict(x) for x in recs]
    learner = BaselineLearner()
    model_dir = ctx.settings.workspace / "models" / f"round-{number}" / "baseline"
    learner.fit(rows + [row for _p, row in variants]).coder.save(model_dir)
    folds = assign_folds(
        [x[ID_KEY] for x in rows], [x["主要诊断编码"] for x in rows], cfg.folds, cfg.seed, ctx.settings.fold_group
    )
    predicted = oof_predictions(rows, variants, folds, cfg.folds, lambda _fold: learner, ctx.progress)
    after = _after(ctx, number, cfg, recs, predicted, measured="out-of-fold", model="baseline")
    return {"model_dir": str(model_dir), **after, "training_records": len(rows) + len(variants)}
