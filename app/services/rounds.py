"""The round's model-backed stages, run as jobs: what :mod:`pipeline.rounds.driver` is given so that ``pipeline``
never imports ``training``. The CLI runs each stage job in its own terminal, the UI's round job in its worker;
either way every stage job is linked to its round, and the driver records it from there."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from app.services.jobs import run_command
from app.services.retrain import BaselineRetrainParams, GRPORetrainParams, SFTRetrainParams
from app.services.rewrite import filter_params
from app.services.round_plan import label_model, mining_model, policy_model
from db.vocabulary import ROUND_MODES
from pipeline.augment.rewriting import RewriteConfig
from pipeline.jobs.params import require_one_of
from pipeline.jobs.runner import JobContext, RoundLink
from pipeline.jobs.table import load_table
from pipeline.mining.kfold import MiningConfig
from pipeline.rounds.config import RoundConfig, round_config
from pipeline.rounds.driver import Claim, claim, drive, release
from pipeline.rounds.lookup import get_round, round_id
from pipeline.settings import Settings


@dataclass(frozen=True)
class RoundParams:
    """The round job's: the UI starts or continues a round with it."""

    mode: str = "interactive"
    #: a RoundConfig's keys (round_config checks them); empty: continue the open round as it is stored
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_one_of("mode", self.mode, ROUND_MODES)
        round_config(self.config)


#: run_stage(kind, params, link) -> the job's result; params are those of the stage's job (the job table's).
StageRunner = Callable[[str, Any, RoundLink], dict[str, Any]]


@dataclass
class JobStages:
    """The model-backed stages of :class:`pipeline.rounds.driver.RoundStages`, each a job linked to the round."""

    engine: Engine
    run_stage: StageRunner

    def _link(self, number: int, stage: str) -> RoundLink:
        return RoundLink(round_id(self.engine, number), stage)

    def mine(self, number: int, cfg: RoundConfig) -> None:
        model = mining_model(self.engine, cfg, number)
        dataset = get_round(self.engine, number).config.dataset
        mining = MiningConfig(dataset, cfg.folds, cfg.seed, number, cfg.threshold, model, inference=cfg.inference)
        self.run_stage("kfold", mining, self._link(number, "identifying"))

    def rewrite(self, number: int, cfg: RoundConfig) -> None:
        rewrite = RewriteConfig(number, cfg.n, cfg.generator, cfg.rewrite_model, seed=cfg.seed)
        self.run_stage("rewrite", rewrite, self._link(number, "generating"))

    def filter(self, number: int, cfg: RoundConfig) -> None:
        dataset = get_round(self.engine, number).config.dataset
        params = filter_params(
            number,
            policy_model=policy_model(self.engine, cfg, number),
            label_model=label_model(self.engine, cfg, number, dataset),
            inference=cfg.inference,
            label_check=cfg.label_check,
        )
        self.run_stage("filter", params, self._link(number, "filtering"))

    def retrain(self, number: int, cfg: RoundConfig, part: str) -> None:
        kind, params = {
            "baseline": ("retrain", BaselineRetrainParams(number)),
            "sft": ("train-sft", SFTRetrainParams(number)),
            "grpo": ("train-grpo", GRPORetrainParams(number)),
        }[part]
        self.run_stage(kind, params, self._link(number, "training"))


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
    _stored, row = load_table(settings.job_table).encode(RoundParams(mode, dict(given or {})))
    taken = claim(engine, mode, given, actor, continue_only=continue_only, row_config=row)
    return taken.number, _drive(engine, settings, taken, actor, run_stage, release_after=True)


def _drive(
    engine: Engine, settings: Settings, taken: Claim, actor: str, run_stage: StageRunner, release_after: bool
) -> str:
    try:
        status = drive(engine, settings, taken.number, actor, JobStages(engine, run_stage))
    except BaseException as e:
        if release_after:
            release(engine, taken, f"{type(e).__name__}: {e}")
        raise
    if release_after:
        release(engine, taken)
    return status


def round_job(params: RoundParams, ctx: JobContext) -> dict[str, Any]:
    """The UI's round job: claims the round for this job, then runs each stage as a job of its own."""

    def run_stage(kind: str, stage_params: Any, link: RoundLink) -> dict[str, Any]:
        return run_command(ctx.engine, ctx.settings, stage_params, ctx.actor, kind=kind, link=link)

    taken = claim(ctx.engine, params.mode, params.config or None, ctx.actor, own_job=ctx.job_id)
    status = _drive(ctx.engine, ctx.settings, taken, ctx.actor, run_stage, release_after=False)
    return {"round": taken.number, "status": status}
