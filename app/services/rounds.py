"""The round's model-backed stages, run as jobs: what :mod:`pipeline.rounds.driver` is given so that ``pipeline``
never imports ``training``. The CLI runs each stage job in its own terminal, the UI's round job in its worker;
either way every stage job is linked to its round, and the driver records it from there."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from app.services.jobs import lane_for
from app.services.mining import KFOLD_HANDLER, kfold_params
from app.services.retrain import BASELINE_HANDLER, GRPO_HANDLER, SFT_HANDLER
from app.services.rewrite import FILTER_HANDLER, REWRITE_HANDLER, filter_params, rewrite_params
from app.services.round_plan import label_model, mining_model, policy_model
from pipeline.augment.rewriting import RewriteConfig
from pipeline.jobs.runner import JobContext, RoundLink, run_foreground
from pipeline.mining.kfold import MiningConfig
from pipeline.rounds.config import RoundConfig
from pipeline.rounds.driver import Claim, claim, drive, release
from pipeline.rounds.lookup import get_round, round_id
from pipeline.settings import Settings

ROUND_HANDLER = "app.services.rounds:round_job"

#: run_stage(kind, handler, params, link) -> the job's result; the CLI draws a progress bar around it.
StageRunner = Callable[[str, str, dict[str, Any], RoundLink], dict[str, Any]]


@dataclass
class JobStages:
    """The model-backed stages of :class:`pipeline.rounds.driver.RoundStages`, each a job linked to the round."""

    engine: Engine
    actor: str
    run_stage: StageRunner

    def _link(self, number: int, stage: str) -> RoundLink:
        return RoundLink(round_id(self.engine, number), stage)

    def mine(self, number: int, cfg: RoundConfig) -> None:
        model = mining_model(self.engine, cfg, number)
        dataset = get_round(self.engine, number).config.dataset
        mining = MiningConfig(dataset, cfg.folds, cfg.seed, number, cfg.threshold, model, inference=cfg.inference)
        self.run_stage("kfold", KFOLD_HANDLER, kfold_params(mining, self.actor), self._link(number, "identifying"))

    def rewrite(self, number: int, cfg: RoundConfig) -> None:
        rewrite = RewriteConfig(number, cfg.n, cfg.generator, cfg.rewrite_model, seed=cfg.seed)
        self.run_stage(
            "rewrite", REWRITE_HANDLER, rewrite_params(rewrite, self.actor), self._link(number, "generating")
        )

    def filter(self, number: int, cfg: RoundConfig) -> None:
        dataset = get_round(self.engine, number).config.dataset
        params = filter_params(
            number,
            self.actor,
            policy_model=policy_model(self.engine, cfg, number),
            label_model=label_model(self.engine, cfg, number, dataset),
            inference=cfg.inference,
        )
        self.run_stage("filter", FILTER_HANDLER, params, self._link(number, "filtering"))

    def retrain(self, number: int, cfg: RoundConfig, part: str) -> None:
        kind, handler = {
            "baseline": ("retrain", BASELINE_HANDLER),
            "sft": ("train-sft", SFT_HANDLER),
            "grpo": ("train-grpo", GRPO_HANDLER),
        }[part]
        self.run_stage(kind, handler, {"round_no": number, "actor": self.actor}, self._link(number, "training"))


def start_round(
    engine: Engine,
    settings: Settings,
    mode: str,
    given: Mapping[str, Any] | None,
    actor: str,
    run_stage: StageRunner,
    continue_only: bool = False,
) -> tuple[int, str]:
    """`sradit round start`: claim the next (or the open) round for this process and drive it; (number, status)."""
    taken = claim(engine, mode, given, actor, continue_only=continue_only, handler=ROUND_HANDLER)
    return taken.number, _drive(engine, settings, taken, actor, run_stage, release_after=True)


def _drive(
    engine: Engine, settings: Settings, taken: Claim, actor: str, run_stage: StageRunner, release_after: bool
) -> str:
    try:
        status = drive(engine, settings, taken.number, actor, JobStages(engine, actor, run_stage))
    except BaseException as e:
        if release_after:
            release(engine, taken, f"{type(e).__name__}: {e}")
        raise
    if release_after:
        release(engine, taken)
    return status


def round_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """The UI's round job: claims the round for this job, then runs each stage as a job of its own."""
    actor = params.get("actor", "job")

    def run_stage(kind: str, handler: str, stage_params: dict[str, Any], link: RoundLink) -> dict[str, Any]:
        lane = lane_for(ctx.settings, kind, stage_params)
        return run_foreground(ctx.engine, ctx.settings, kind, handler, stage_params, actor, lane=lane, link=link)

    given = params.get("config")
    taken = claim(ctx.engine, params.get("mode", "interactive"), given, actor, own_job=ctx.job_id)
    status = _drive(ctx.engine, ctx.settings, taken, actor, run_stage, release_after=False)
    return {"round": taken.number, "status": status}
