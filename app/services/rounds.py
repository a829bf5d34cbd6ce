"""Driving a round through its stages. Each stage runs as a job (a row in `jobs`, visible in the UI);
a stage that fails or is killed is simply run again: every stage is resumable or idempotent."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from app.services.mining import KFOLD_HANDLER, kfold_params
from app.services.rewrite import FILTER_HANDLER, REWRITE_HANDLER, rewrite_params
from db.engine import read_session
from db.models import Badcase, Dataset, ModelRun, Round
from pipeline.augment.filter_chain import funnel
from pipeline.augment.rewriting import RewriteConfig
from pipeline.domain.metric import score
from pipeline.domain.records import ID_KEY
from pipeline.errors import InputError
from pipeline.jobs.runner import JobContext, run_foreground
from pipeline.mining.badcases import diagnose
from pipeline.mining.folds import assign_folds
from pipeline.mining.kfold import MiningConfig, labelled_records, merged_variants, oof_predictions, record_dict
from pipeline.rounds.lifecycle import (
    RoundConfig,
    approve_by_filters,
    augment,
    expert_minutes_per_approved,
    get_round,
    open_round,
    review_complete,
    set_stage,
)
from pipeline.settings import Settings
from training.predictors import BaselineLearner

ROUND_HANDLER = "app.services.rounds:round_job"
RETRAIN_HANDLER = "app.services.rounds:retrain_job"

#: run_stage(kind, handler, params) -> result; the CLI runs stages in the foreground, the UI in a worker.
StageRunner = Callable[[str, str, dict[str, Any]], dict[str, Any]]


def _mined(engine: Engine, number: int) -> dict[str, Any] | None:
    with read_session(engine) as s:
        run = s.scalar(
            select(ModelRun)
            .join(Round, Round.id == ModelRun.round_id)
            .where(Round.number == number, ModelRun.kind == "kfold")
            .limit(1)
        )
        if run is None:
            return None
        n = len(s.scalars(select(Badcase.id).where(Badcase.round_id == run.round_id)).all())
        return {
            "run_id": run.id,
            "score": run.score,
            "principal_accuracy": run.principal_accuracy,
            "other_f1": run.other_f1,
            "badcases": n,
        }


def advance(engine: Engine, settings: Settings, number: int, actor: str, run_stage: StageRunner) -> str:
    """Run the round's stages from where it stands until it is done or waits for experts; returns its status."""
    while True:
        r = get_round(engine, number)
        cfg = RoundConfig(**r.config)
        if r.status == "done":
            return "done"
        if r.status == "identifying":
            done = _mined(engine, number)
            if done is None:  # a mining killed half-way wrote nothing: run it again
                mining = MiningConfig(cfg.dataset, cfg.folds, cfg.seed, number, cfg.threshold, cfg.model)
                run_stage("kfold", KFOLD_HANDLER, kfold_params(mining, actor))
                done = _mined(engine, number)
            set_stage(engine, number, "generating", "identifying", done)
        elif r.status == "generating":
            rewrite = RewriteConfig(number, cfg.n, cfg.generator, cfg.generator_model, seed=cfg.seed)
            result = run_stage("rewrite", REWRITE_HANDLER, rewrite_params(rewrite, actor))
            set_stage(engine, number, "filtering", "generating", {k: result[k] for k in ("generated", "failed")})
        elif r.status == "filtering":
            result = run_stage(
                "filter", FILTER_HANDLER, {"round_no": number, "policy_model": cfg.policy_model, "actor": actor}
            )
            set_stage(
                engine, number, "in_review", "filtering", {"funnel": funnel(engine, number), "passed": result["passed"]}
            )
        elif r.status == "in_review":
            if r.mode == "non-interactive":
                chosen = approve_by_filters(engine, number, actor)
                set_stage(
                    engine, number, "augmenting", "in_review", {"selected": chosen, "approved_by": "filter chain"}
                )
            else:
                decided, total = review_complete(engine, number)
                if decided < total:
                    return "in_review"
                set_stage(
                    engine,
                    number,
                    "augmenting",
                    "in_review",
                    {
                        "selected": decided,
                        "approved_by": "experts",
                        "expert_minutes_per_approved": expert_minutes_per_approved(engine, number),
                    },
                )
        elif r.status == "augmenting":
            a = augment(engine, number, actor)
            set_stage(engine, number, "training", "augmenting", asdict(a))
        elif r.status == "training":
            result = run_stage("retrain", RETRAIN_HANDLER, {"round_no": number, "actor": actor})
            set_stage(engine, number, "done", "training", result)
            write_report(settings, number, get_round(engine, number))
        else:
            raise InputError(f"round {number} has an unknown status {r.status!r}")


def start_or_continue(
    engine: Engine, settings: Settings, mode: str, cfg: RoundConfig, actor: str, run_stage: StageRunner
) -> tuple[int, str]:
    number, _created = open_round(engine, mode, cfg, actor)
    return number, advance(engine, settings, number, actor, run_stage)


def round_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """The UI's round job: runs the stages in this worker, each recorded as its own job row."""
    actor = params.get("actor", "job")

    def run_stage(kind: str, handler: str, stage_params: dict[str, Any]) -> dict[str, Any]:
        return run_foreground(ctx.engine, ctx.settings, kind, handler, stage_params, actor)

    cfg = RoundConfig(**params.get("config", {}))
    number, status = start_or_continue(
        ctx.engine, ctx.settings, params.get("mode", "interactive"), cfg, actor, run_stage
    )
    return {"round": number, "status": status}


def retrain_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Retrain the round's model on the augmented dataset and measure it the same way it was mined:
    out-of-fold on the original records (merged variants train, never in their parent's fold)."""
    number = int(params["round_no"])
    r = get_round(ctx.engine, number)
    cfg = RoundConfig(**r.config)
    if cfg.model != "baseline":
        raise InputError(
            f"round {number}: retraining {cfg.model!r} runs on the Training page (`sradit train`); "
            "rounds retrain the baseline coder themselves"
        )
    dataset = r.results.get("augmenting", {}).get("dataset")
    with read_session(ctx.engine) as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == dataset))
        if ds is None:
            raise InputError(f"round {number}: the augmented dataset {dataset!r} is missing")
        recs = labelled_records(s, dataset)
        variants = merged_variants(s, ds.id)
        bad = {
            b.record.case_id: b
            for b in s.scalars(select(Badcase).join(Round, Round.id == Badcase.round_id).where(Round.number == number))
        }
    rows = [record_dict(x) for x in recs]
    learner = BaselineLearner()
    model_dir = Path(ctx.settings.data_dir) / "models" / f"round-{number}" / "baseline"
    learner.fit(rows + [row for _p, row in variants]).coder.save(model_dir)
    folds = assign_folds([x[ID_KEY] for x in rows], [x["主要诊断编码"] for x in rows], cfg.folds, cfg.seed)
    predicted = oof_predictions(rows, variants, folds, cfg.folds, lambda _fold: learner, ctx.progress)
    gold = {x.case_id: (x.principal_code, x.other_codes or []) for x in recs}
    after = score(gold, {cid: (p.principal, list(p.others)) for cid, p in predicted.items()})
    fixed = sum(
        not diagnose(
            b.gold_principal, gold[cid][1], predicted[cid].principal, predicted[cid].others, cfg.threshold
        ).is_badcase
        for cid, b in bad.items()
        if cid in predicted
    )
    ctx.metric(score_after=after.score, fixed=fixed)
    return {
        "model_dir": str(model_dir),
        "score_after": after.score,
        "principal_accuracy_after": after.principal_accuracy,
        "other_f1_after": after.other_f1,
        "fixed": fixed,
        "still_wrong": len(bad) - fixed,
        "training_records": len(rows) + len(variants),
    }


def write_report(settings: Settings, number: int, r: Any) -> Path:
    folder = Path(settings.data_dir) / "rounds" / f"round-{number}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(
        json.dumps(asdict(r), ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    ident, train = r.results.get("identifying", {}), r.results.get("training", {})
    review = r.results.get("in_review", {})
    lines = [
        f"# Round {number} ({r.mode})",
        "",
        f"- dataset: {r.config.get('dataset')} → {r.results.get('augmenting', {}).get('dataset')}",
        f"- badcases: {ident.get('badcases')}; fixed after retraining: {train.get('fixed')}; "
        f"still wrong: {train.get('still_wrong')}",
        f"- variants generated: {r.results.get('generating', {}).get('generated')}; passing every filter: "
        f"{r.results.get('filtering', {}).get('passed')}; selected: {review.get('selected')} "
        f"(approved by {review.get('approved_by')})",
        f"- score before: {ident.get('score', 0):.2f} → after: {train.get('score_after', 0):.2f}",
    ]
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
