"""Driving a round through its stages. Each stage runs as a job (a row in `jobs`, visible in the UI);
a stage that fails or is killed is simply run again: every stage is resumable or idempotent."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from app.services.jobs import lane_for
from app.services.retrain import BaselineRetrainParams, GRPORetrainParams, SFTRetrainParams
from app.services.rewrite import filter_params
from app.services.round_plan import label_model, mining_model, pair, policy_model, round_models
from db.engine import read_session
from db.models import Badcase, ModelRun, Round
from db.vocabulary import ROUND_MODES
from pipeline.augment.filter_chain import funnel
from pipeline.augment.rewriting import RewriteConfig
from pipeline.errors import InputError
from pipeline.jobs.params import require_one_of
from pipeline.jobs.runner import JobContext, run_foreground
from pipeline.mining.kfold import MiningConfig
from pipeline.review.board import expert_minutes_per_badcase
from pipeline.rounds.config import NONE, RoundConfig, round_config
from pipeline.rounds.lifecycle import (
    approve_by_filters,
    augment,
    expert_minutes_per_approved,
    get_round,
    open_round,
    review_complete,
    set_stage,
)
from pipeline.settings import Settings

#: run_stage(kind, params) -> result, params those of the stage's job; the CLI runs stages in the foreground, the
#: UI in a worker.
StageRunner = Callable[[str, Any], dict[str, Any]]


@dataclass(frozen=True)
class RoundParams:
    """The round job's: the UI starts or continues a round with it."""

    mode: str = "interactive"
    config: dict[str, Any] = field(default_factory=dict)  #: a RoundConfig's keys (round_config checks them)

    def __post_init__(self) -> None:
        require_one_of("mode", self.mode, ROUND_MODES)
        round_config(self.config)


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
            "model": run.model_name,
            "metric": (run.config or {}).get("metric", "f1"),
        }


def advance(engine: Engine, settings: Settings, number: int, actor: str, run_stage: StageRunner) -> str:
    """Run the round's stages from where it stands until it is done or waits for experts; returns its status."""

    def timed(kind: str, params: Any) -> dict[str, Any]:
        started = time.monotonic()
        result = run_stage(kind, params)
        return {**result, "seconds": round(time.monotonic() - started, 1)}

    while True:
        r = get_round(engine, number)
        cfg = round_config(r.config)
        if r.status == "done":
            return "done"
        if r.status == "identifying":
            _identify(engine, number, cfg, timed)
        elif r.status == "generating":
            rewrite = RewriteConfig(number, cfg.n, cfg.generator, cfg.rewrite_model, seed=cfg.seed)
            result = timed("rewrite", rewrite)
            set_stage(
                engine,
                number,
                "filtering",
                "generating",
                {k: result[k] for k in ("generated", "failed", "seconds")}
                | {"held_for_label_issues": result.get("held", 0), "models": [cfg.rewrite_model or "rules"]},
            )
        elif r.status == "filtering":
            _filter(engine, number, cfg, timed)
        elif r.status == "in_review":
            if r.mode == "non-interactive":
                by_experts, _total = review_complete(engine, number)  # decided before the switch: they stand
                chosen = approve_by_filters(engine, number, actor)
                approved_by = (
                    "filter chain" if not by_experts else "experts" if not chosen else "experts and filter chain"
                )
                set_stage(
                    engine,
                    number,
                    "augmenting",
                    "in_review",
                    {
                        "selected": by_experts + chosen,
                        "by_experts": by_experts,
                        "by_filter_chain": chosen,
                        "approved_by": approved_by,
                    },
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
                        "expert_minutes_per_badcase": expert_minutes_per_badcase(engine, number),
                    },
                )
        elif r.status == "augmenting":
            a = augment(engine, number, actor)
            set_stage(engine, number, "training", "augmenting", {**asdict(a), "merged": a.added_variants})
        elif r.status == "training":
            _train(engine, number, cfg, dict(r.results.get("training") or {}), timed)
            write_report(settings, number, get_round(engine, number))
        else:
            raise InputError(f"round {number} has an unknown status {r.status!r}")


def _identify(engine: Engine, number: int, cfg: RoundConfig, timed: StageRunner) -> None:
    done = _mined(engine, number)
    seconds = None
    if done is None:  # a mining killed half-way wrote nothing: run it again
        model = mining_model(engine, cfg, number)
        mining = MiningConfig(cfg.dataset, cfg.folds, cfg.seed, number, cfg.threshold, model, inference=cfg.inference)
        seconds = timed("kfold", mining)["seconds"]
        done = _mined(engine, number)
        assert done is not None
    models = round_models(engine, number, cfg.learner) if cfg.mining == "kfold" else []
    done = {
        **done,
        "mining": cfg.mining,
        "models": models or [done["model"]],
        "measured": "out-of-fold" if cfg.mining == "kfold" else "in-sample",
        "seconds": seconds,
    }
    set_stage(engine, number, "generating", "identifying", done)


def _filter(engine: Engine, number: int, cfg: RoundConfig, timed: StageRunner) -> None:
    dataset = get_round(engine, number).config.get("dataset", cfg.dataset)
    label = label_model(engine, cfg, number, dataset)
    policy = policy_model(engine, cfg, number)
    params = filter_params(number, policy_model=policy, label_model=label, inference=cfg.inference)
    result = timed("filter", params)
    skipped = None
    if policy is None:
        skipped = (
            "switched off (policy_model: none)"
            if cfg.policy_model == NONE
            else "skipped: there is no GRPO policy yet (round 1 trains the first)"
        )
    set_stage(
        engine,
        number,
        "in_review",
        "filtering",
        {
            "funnel": funnel(engine, number),
            "passed": result["passed"],
            "seconds": result["seconds"],
            "label_models": pair(engine, label) or ["baseline"],
            "policy_models": pair(engine, policy),
            "policy": skipped or "on the label filter's survivors",
        },
    )


def _train(engine: Engine, number: int, cfg: RoundConfig, done: dict[str, Any], timed: StageRunner) -> None:
    """Retrain: the baseline in one job; an LLM learner SFT then GRPO, each its own job, each skipped once done
    (a killed stage re-runs alone; its job registers only what is not registered yet)."""
    if not cfg.llm_learner:
        result = timed("retrain", BaselineRetrainParams(number))
        set_stage(engine, number, "done", "training", {**result, "models": ["baseline"]})
        return
    for stage, params in (("sft", SFTRetrainParams(number)), ("grpo", GRPORetrainParams(number))):
        if stage not in done:
            done[stage] = timed(f"train-{stage}", params)
            set_stage(engine, number, "training", "training", done)
    grpo = done["grpo"]
    summary = {k: grpo[k] for k in grpo if k not in ("models", "lines", "seconds")}
    summary["models"] = done["sft"]["models"] + grpo["models"]
    summary["seconds"] = round((done["sft"].get("seconds") or 0) + (grpo.get("seconds") or 0), 1)
    set_stage(engine, number, "done", "training", {**done, **summary})


def start_or_continue(
    engine: Engine, settings: Settings, mode: str, cfg: RoundConfig, actor: str, run_stage: StageRunner
) -> tuple[int, str]:
    number, _created = open_round(engine, mode, cfg, actor)
    return number, advance(engine, settings, number, actor, run_stage)


def round_job(params: RoundParams, ctx: JobContext) -> dict[str, Any]:
    """The UI's round job: runs the stages in this worker, each recorded as its own job row."""
    actor = ctx.actor

    def run_stage(kind: str, stage_params: Any) -> dict[str, Any]:
        lane = lane_for(ctx.settings, stage_params)
        return run_foreground(ctx.engine, ctx.settings, stage_params, actor, lane=lane, kind=kind)

    cfg = round_config(params.config)
    number, status = start_or_continue(ctx.engine, ctx.settings, params.mode, cfg, actor, run_stage)
    return {"round": number, "status": status}


def write_report(settings: Settings, number: int, r: Any) -> Path:
    folder = settings.workspace / "rounds" / f"round-{number}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(
        json.dumps(asdict(r), ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    res = r.results
    ident, train, review = res.get("identifying", {}), res.get("training", {}), res.get("in_review", {})
    filtering, augmenting = res.get("filtering", {}), res.get("augmenting", {})
    models = r.models()
    measured = train.get("measured", "out-of-fold")
    lines = [
        f"# Round {number} ({r.mode})",
        "",
        f"- dataset: {r.config.get('dataset')} → {augmenting.get('dataset')}; "
        f"{augmenting.get('added_variants', 0)} variants merged",
        f"- mined ({ident.get('mining', 'kfold')}, {ident.get('measured', 'out-of-fold')}) with: "
        f"{', '.join(models['mined']) or '-'}; badcases: {ident.get('badcases')}",
        f"- variants generated: {res.get('generating', {}).get('generated')}; passing every filter: "
        f"{filtering.get('passed')}; selected: {review.get('selected')} (approved by {review.get('approved_by')})",
        f"- label filter: {', '.join(filtering.get('label_models') or ['baseline'])}; policy filter: "
        f"{', '.join(filtering.get('policy_models') or []) or '-'} ({filtering.get('policy', 'not recorded')})",
        f"- trained: {', '.join(models['trained']) or '-'}",
        f"- fixed after retraining ({measured}): {train.get('fixed')}; still wrong: {train.get('still_wrong')}",
        f"- score before ({ident.get('metric', 'f1')}, {ident.get('measured', 'out-of-fold')}): "
        f"{ident.get('score') or 0:.2f} → after ({train.get('metric', 'f1')}, {measured}): "
        f"{train.get('score_after') or 0:.2f}",
        "",
        "| stage | seconds |",
        "|---|---|",
    ]
    for stage in ("identifying", "generating", "filtering", "training"):
        lines.append(f"| {stage} | {res.get(stage, {}).get('seconds', '-')} |")
    for sub in ("sft", "grpo"):
        if sub in train:
            lines.append(f"| training: {sub} | {train[sub].get('seconds', '-')} |")
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
