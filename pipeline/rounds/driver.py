"""The round's state machine: identify → generate → filter → review → augment → train → done.

Whoever starts a round (``sradit round start``, the Rounds page's job) calls :func:`drive` with the model-backed
stages injected (:class:`RoundStages`: mining, rewriting, filtering and retraining run as jobs, with models that
``pipeline`` never imports). Each stage job is linked to its round (``jobs.round_id``, ``jobs.stage``), and a
stage is recorded from the database, not from the caller: :func:`sync` reads the round's linked jobs and runs,
so a stage finished by hand (`sradit rewrite --round N`, `sradit filter --round N`, `sradit kfold`) counts
exactly like one the driver ran, and is never run twice.

Starting is a claim: under the rounds lock, one driver at a time per round (a second gets "round N is already
being started"), and a configuration given while a round is open either applies (its stage has not started)
or is refused, naming the round and the ways out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from db.base import as_utc, utcnow
from db.engine import read_session, write_session
from db.models import Badcase, Job, ModelRun, RegisteredModel, Round
from db.vocabulary import ROUND_STAGES, ROUND_STATUSES
from pipeline.audit import audit
from pipeline.augment.filter_chain import funnel
from pipeline.domain.model_names import pair_sibling, pair_subtask
from pipeline.errors import InputError
from pipeline.jobs.processes import HOST
from pipeline.jobs.runner import reconcile, record_end
from pipeline.review.board import expert_minutes_per_badcase
from pipeline.rounds.config import NONE, RoundConfig, first_stage, given_keys, round_config
from pipeline.rounds.external import external_trained
from pipeline.rounds.lifecycle import (
    approve_by_filters,
    augment,
    create_round,
    expert_minutes_per_approved,
    review_complete,
    set_stage,
)
from pipeline.rounds.lookup import FINISHED, RoundHandle, find_round, get_round, stored_config
from pipeline.rounds.report import write_report
from pipeline.rounds.results import Filtered, Generated, Identified, Reviewed, Trained, stage_result
from pipeline.settings import Settings

#: The parts of the training stage: the baseline refit, or an LLM learner's SFT then GRPO.
TRAINING_PARTS = ("baseline", "sft", "grpo")
#: The job kinds that run each model-backed stage (also when run by hand).
STAGE_KINDS = {
    "identifying": ("kfold",),
    "generating": ("rewrite",),
    "filtering": ("filter",),
    "training": ("retrain", "train-sft", "train-grpo"),
}
PART_KINDS = {"baseline": "retrain", "sft": "train-sft", "grpo": "train-grpo"}


class RoundStages(Protocol):
    """The model-backed stages. Each runs its job linked to the round (round id and stage) and returns when it
    ends, raising if it failed; what it produced is read back by :func:`sync`."""

    def mine(self, number: int, cfg: RoundConfig) -> None: ...

    def rewrite(self, number: int, cfg: RoundConfig) -> None: ...

    def filter(self, number: int, cfg: RoundConfig) -> None: ...

    def retrain(self, number: int, cfg: RoundConfig, part: str) -> None: ...


@dataclass(frozen=True)
class Claim:
    number: int
    job_id: int  #: the job row that drives the round (the UI's round job, or the command's own row)
    created: bool


def _lock_rounds(s: Session) -> None:
    """Serialise round starts. SQLite's BEGIN IMMEDIATE already does; PostgreSQL's row locks cannot lock a round
    that does not exist yet, so the table is locked (against other writers of rounds only)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("LOCK TABLE rounds IN SHARE ROW EXCLUSIVE MODE"))


def _driver_of(s: Session, rid: int, own_job: int | None) -> Job | None:
    return s.scalar(
        select(Job)
        .where(Job.round_id == rid, Job.kind == "round", Job.status.in_(("queued", "running")), Job.id != own_job)
        .limit(1)
    )


def claim(
    engine: Engine,
    mode: str,
    given: Mapping[str, Any] | None,
    actor: str,
    own_job: int | None = None,
    continue_only: bool = False,
    row_config: Mapping[str, Any] | None = None,
) -> Claim:
    """Open the next round or take the unfinished one to drive it; see the module's docstring.

    ``given``: the configuration keys the user set (a file, options, a form); None when none was given.
    ``own_job``: the caller's job row (the UI's round job); without one, a row is added for this process, its
    ``config`` being ``row_config`` (the job table's encoding of the round's parameters).
    """
    reconcile(engine)  # a driver killed earlier must not hold its round forever
    cfg = round_config(given or {}, "round config")
    with write_session(engine) as s:
        _lock_rounds(s)
        current = s.scalar(select(Round).where(Round.status.not_in(FINISHED)).order_by(Round.number.desc()).limit(1))
        if current is None:
            if continue_only:
                raise InputError("there is no unfinished round to continue (`sradit round status` lists them)")
            number, created = create_round(s, mode, cfg, actor), True
            current = find_round(s, number)
        else:
            number, created = current.number, False
            busy = _driver_of(s, current.id, own_job)
            if busy is not None:
                raise InputError(
                    f"round {number} is already being started (job {busy.id}, by {busy.created_by}); "
                    f"wait for it, or cancel it with `sradit jobs cancel {busy.id}`"
                )
            if given is not None:
                if continue_only:
                    raise InputError("--continue goes on with the round's stored config: give no --config or options")
                _apply(s, current, given, cfg, actor)
            if mode == "non-interactive" and current.mode != mode:
                # The rest of this round is approved by the filter chain; expert decisions made so far stand.
                current.mode = mode
                audit(s, actor, "round.mode", f"round {number}", mode=mode)
        if own_job is None:
            job = Job(
                kind="round",
                status="running",
                lane="cpu",
                config={**(row_config or {}), "foreground": True},
                created_by=actor,
                pid=os.getpid(),
                worker_host=HOST,
                started_at=utcnow(),
                round_id=current.id,
            )
            s.add(job)
            s.flush()
            own_job = job.id
        else:
            own = s.get(Job, own_job)
            if own is not None:
                own.round_id = current.id
    return Claim(number, own_job, created)


def _apply(s: Session, r: Round, given: Mapping[str, Any], cfg: RoundConfig, actor: str) -> None:
    """Apply the keys of ``given`` that change the open round's config, or refuse them all if any affects a stage
    that has started."""
    stored = stored_config(r)
    changed = {}
    for key in sorted(given_keys(given)):
        new, old = getattr(cfg, key), getattr(stored, key)
        if key == "dataset":  # round 1's training set; later rounds start on the last augmentation
            if r.number > 1 or str(old).split("@")[0] == new:
                continue
        if new != old:
            changed[key] = (old, new)
    late = [
        f"{k} ({was!r} → {now!r}, used by {first_stage(k, stored)})"
        for k, (was, now) in changed.items()
        if _started(s, r, first_stage(k, stored))
    ]
    if late:
        raise InputError(
            f"round {r.number} is open at stage {r.status}, and these settings belong to stages it has already "
            f"started: {'; '.join(late)}. Go on with its stored settings (`sradit round start --continue`), or "
            f"abandon it (`sradit round abandon {r.number}`) and start a new round with yours"
        )
    if changed:
        new_cfg = replace(stored, **{k: v for k, (_old, v) in changed.items()})
        r.config = {**new_cfg.as_dict(), "dataset": r.config.get("dataset", new_cfg.dataset)}
        audit(s, actor, "round.config", f"round {r.number}", **{k: v for k, (_o, v) in changed.items()})


def _started(s: Session, r: Round, stage: str) -> bool:
    order = ROUND_STATUSES.index
    if order(r.status) != order(stage):
        return order(r.status) > order(stage)
    if stage == "identifying" and _mining_run(s, r.id) is not None:
        return True
    return s.scalar(select(Job.id).where(Job.round_id == r.id, Job.stage == stage).limit(1)) is not None


def release(engine: Engine, claim_: Claim, error: str | None = None) -> None:
    """End the command's own driver row (the UI's round job is ended by its runner)."""
    record_end(engine, claim_.job_id, "failed" if error else "succeeded", error, {"round": claim_.number})


def drive(engine: Engine, settings: Settings, number: int, actor: str, stages: RoundStages) -> str:
    """Run round ``number`` from where it stands until it is done or waits for experts; returns its status."""
    ran: set[str] = set()
    while True:
        before = get_round(engine, number).status
        r = sync(engine, number)
        cfg = r.config
        if before == "training" and r.status == "done":
            write_report(settings, r)
        if r.status in FINISHED:
            return r.status
        step = r.status
        if r.status == "identifying":
            stages.mine(number, cfg)
        elif r.status == "generating":
            stages.rewrite(number, cfg)
        elif r.status == "filtering":
            stages.filter(number, cfg)
        elif r.status == "in_review":
            if not _review(engine, r, actor):
                return "in_review"
        elif r.status == "augmenting":
            set_stage(engine, number, "training", augment(engine, number, actor))
        elif r.status == "training":
            if cfg.retrain == "external":
                return r.status  # waits for models registered for it (pipeline/rounds/external.py)
            parts = ("sft", "grpo") if cfg.llm_learner else ("baseline",)
            with read_session(engine) as s:
                done = _training_jobs(s, r.id)
            step = next(p for p in parts if done[p] is None)
            stages.retrain(number, cfg, step)
        if step in ran:  # its job succeeded, yet nothing linked to the round shows it: never loop on it
            raise InputError(f"round {number}: its {step} stage ended without a result; see the Jobs page")
        ran.add(step)


def sync(engine: Engine, number: int) -> RoundHandle:
    """Record every stage of round ``number`` whose work is done — by the driver or by hand — and return the
    round as it stands. Idempotent: a stage is recorded once, from its newest successful job."""
    r = get_round(engine, number)
    if r.results.identifying is None and r.status not in ("identifying", *FINISHED):
        # `sradit kfold` opens its round past identifying, with nothing recorded for that stage yet.
        with read_session(engine) as s:
            mined = _identified(s, r)
        if mined is not None:
            set_stage(engine, number, r.status, mined)
    while True:
        r = get_round(engine, number)
        result = _finished_stage(engine, r)
        if result is None:
            return r
        following = ROUND_STATUSES[ROUND_STATUSES.index(r.status) + 1]
        set_stage(engine, number, following, result)


def _finished_stage(engine: Engine, r: RoundHandle) -> Identified | Generated | Filtered | Trained | None:
    with read_session(engine) as s:
        if r.status == "identifying":
            return _identified(s, r)
        if r.status in ("generating", "filtering"):
            job = _newest_job(s, r.id, r.status)
            if job is None:
                return None
            if r.status == "generating":
                params = (job.config or {}).get("params", {})
                return stage_result(
                    Generated,
                    {**(job.result or {}), "models": [params.get("model") or "rules"], **_timing(job)},
                )
            return _filtered(s, engine, r, job)
        if r.status == "training":
            return external_trained(s, r) if r.config.retrain == "external" else _trained(s, r)
    return None


def _timing(job: Job) -> dict[str, Any]:
    seconds = (job.finished_at - job.started_at).total_seconds() if job.finished_at and job.started_at else None
    return {"seconds": round(seconds, 1) if seconds is not None else None, "job_id": job.id}


def _newest_job(s: Session, rid: int, stage: str, kind: str | None = None) -> Job | None:
    """The stage's newest successful job, if it ran after every job of the stages before it."""
    kinds = (kind,) if kind else STAGE_KINDS[stage]
    job = s.scalar(
        select(Job)
        .where(Job.round_id == rid, Job.stage == stage, Job.kind.in_(kinds), Job.status == "succeeded")
        .order_by(Job.id.desc())
        .limit(1)
    )
    earlier = ROUND_STAGES[: ROUND_STAGES.index(stage)]
    before = s.scalar(select(func.max(Job.id)).where(Job.round_id == rid, Job.stage.in_(earlier)))
    return job if job is not None and (before is None or job.id > before) else None


def _mining_run(s: Session, rid: int) -> ModelRun | None:
    return s.scalar(select(ModelRun).where(ModelRun.round_id == rid, ModelRun.kind == "kfold").limit(1))


def _identified(s: Session, r: RoundHandle) -> Identified | None:
    run = _mining_run(s, r.id)
    if run is None:
        return None  # a mining killed half-way wrote nothing: it runs again
    cfg = r.config
    fold_models = list(
        s.scalars(
            select(RegisteredModel.name)
            .where(RegisteredModel.round_no == r.number, RegisteredModel.fold.is_not(None))
            .order_by(RegisteredModel.id)
        )
    )
    ensemble = s.scalar(
        select(RegisteredModel.name).where(RegisteredModel.round_no == r.number, RegisteredModel.kind == "ensemble")
    )
    job = s.get(Job, run.job_id) if run.job_id is not None else None
    return Identified(
        run_id=run.id,
        model=run.model_name,
        score=run.score,
        principal_accuracy=run.principal_accuracy,
        other_f1=run.other_f1,
        badcases=s.scalar(select(func.count()).where(Badcase.round_id == r.id)) or 0,
        metric=(run.config or {}).get("metric", "f1"),
        mining=cfg.mining,
        models=tuple([*fold_models, ensemble] if fold_models and ensemble else [run.model_name]),
        measured="out-of-fold" if cfg.mining == "kfold" else "in-sample",
        seconds=_timing(job)["seconds"] if job is not None else None,
        job_id=run.job_id,
    )


def pair(s: Session, name: str | None) -> list[str]:
    """A model name and, for a sub-task pair, its sibling: every registered name that answers for it."""
    if not name:
        return []
    sibling = pair_sibling(name)
    if sibling is not None and s.scalar(select(RegisteredModel.id).where(RegisteredModel.name == sibling)):
        return [name, sibling] if pair_subtask(name) == "principal" else [sibling, name]
    return [name]


def _filtered(s: Session, engine: Engine, r: RoundHandle, job: Job) -> Filtered:
    params = (job.config or {}).get("params", {})
    label, policy = params.get("label_model"), params.get("policy_model")
    if policy:
        how = "on the label filter's survivors"
    elif r.config.policy_model == NONE:
        how = "switched off (policy_model: none)"
    elif not r.config.llm_learner:
        how = "skipped: the baseline learner trains no GRPO policy"
    elif r.number == 1:
        how = "skipped: there is no GRPO policy yet (this round trains the first)"
    else:
        how = f"skipped: no round before round {r.number} registered a GRPO policy"
    return Filtered(
        funnel=tuple(funnel(engine, r.number)),
        passed=(job.result or {}).get("passed"),
        label_models=tuple(pair(s, label) or ["baseline"]),
        policy_models=tuple(pair(s, policy)),
        policy=how,
        **_timing(job),
    )


def _training_jobs(s: Session, rid: int) -> dict[str, Job | None]:
    """Each training part's newest successful job (None: the part has not run since the stages before it)."""
    return {part: _newest_job(s, rid, "training", kind) for part, kind in PART_KINDS.items()}


def _trained(s: Session, r: RoundHandle) -> Trained | None:
    jobs = _training_jobs(s, r.id)
    if not r.config.llm_learner:
        job = jobs["baseline"]
        if job is None:
            return None
        return stage_result(Trained, {**(job.result or {}), "models": ["baseline"], **_timing(job)})
    sft, grpo = jobs["sft"], jobs["grpo"]
    if sft is None or grpo is None or grpo.id < sft.id:
        return None
    parts = {name: {**(job.result or {}), **_timing(job)} for name, job in (("sft", sft), ("grpo", grpo))}
    summary = {k: v for k, v in parts["grpo"].items() if k not in ("models", "lines", "seconds", "job_id")}
    return stage_result(
        Trained,
        {
            **summary,
            "models": list(parts["sft"].get("models") or []) + list(parts["grpo"].get("models") or []),
            "seconds": round((parts["sft"]["seconds"] or 0) + (parts["grpo"]["seconds"] or 0), 1),
            "sft": parts["sft"],
            "grpo": parts["grpo"],
            "job_id": grpo.id,
        },
    )


def _review(engine: Engine, r: RoundHandle, actor: str) -> bool:
    """Close the review when it is complete (or the filter chain decides); False while it waits for experts."""
    number = r.number
    if r.mode == "non-interactive":
        by_experts, _total = review_complete(engine, number)  # decided before the switch: they stand
        chosen = approve_by_filters(engine, number, actor)
        approved_by = "filter chain" if not by_experts else "experts" if not chosen else "experts and filter chain"
        result = Reviewed(
            selected=by_experts + chosen, approved_by=approved_by, by_experts=by_experts, by_filter_chain=chosen
        )
    else:
        decided, total = review_complete(engine, number)
        if decided < total:
            return False
        result = Reviewed(
            selected=decided,
            approved_by="experts",
            by_experts=decided,
            expert_minutes_per_approved=expert_minutes_per_approved(engine, number),
            expert_minutes_per_badcase=expert_minutes_per_badcase(engine, number),
        )
    set_stage(engine, number, "augmenting", result)
    return True


def reward_preview(engine: Engine, number: int) -> dict[str, dict[str, Any]]:
    """The reward preview the round's newest SFT stage job took of each new SFT model (app/services/retrain.py),
    by model name; empty when none ran since the stages before it, or the preview was off."""
    with read_session(engine) as s:
        job = _training_jobs(s, find_round(s, number).id)["sft"]
        return dict((job.result or {}).get("reward_preview") or {}) if job is not None else {}


@dataclass(frozen=True)
class StageJob:
    """A job linked to a round, for the Rounds page: which stage it ran, how it went, how long it took."""

    job_id: int
    stage: str
    kind: str
    status: str
    progress: float
    seconds: float | None
    message: str | None


def stage_jobs(engine: Engine, number: int) -> list[StageJob]:
    """Round ``number``'s stage jobs, oldest first (its driver rows left out)."""
    with read_session(engine) as s:
        rid = find_round(s, number).id
        jobs = s.scalars(select(Job).where(Job.round_id == rid, Job.stage.is_not(None)).order_by(Job.id))
        now = utcnow()
        out = []
        for j in jobs:
            end = j.finished_at or (now if j.started_at else None)
            seconds = (as_utc(end) - as_utc(j.started_at)).total_seconds() if end and j.started_at else None
            out.append(StageJob(j.id, j.stage or "", j.kind, j.status, j.progress, seconds, j.message))
        return out
