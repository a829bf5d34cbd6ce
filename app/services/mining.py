"""Badcase mining and prediction, wiring the configured models (training) into the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from app.services.learners import kfold_learner
from db.engine import read_session, write_session
from db.models import Dataset, ModelRun, Prediction, Record
from pipeline.audit import audit
from pipeline.domain.metric import ScoreReport, record_score, score
from pipeline.domain.vocabulary import INFERENCE_MODES
from pipeline.errors import InputError
from pipeline.ingest.submission import write_submission
from pipeline.jobs.params import require_one_of
from pipeline.jobs.runner import JobContext, job_dir
from pipeline.mining.kfold import MiningConfig, MiningReport, labelled_records, mine, record_dict
from pipeline.protocols import Progress
from pipeline.settings import Settings
from training.models.catalog import load_models
from training.models.resolve import find_model, predictor_for
from training.predictors import BaselineLearner, FixedLearner, learner_for


def kfold_job(cfg: MiningConfig, ctx: JobContext) -> dict[str, Any]:
    """Job handler: K-fold mining with the named model.

    A learner (``kind = "sft"``) is trained once per fold and sub-task, so every prediction is out of fold;
    its fold models and their ensemble are registered with the round. Any other model predicts every fold
    as it is (the baseline is refitted per fold).
    """
    actor = ctx.actor
    # The reported metric and the fold grouping are the deployment's settings unless the caller chose.
    cfg = replace(cfg, metric=cfg.metric or ctx.settings.metric, group=cfg.group or ctx.settings.fold_group)
    if cfg.predictions:
        from pipeline.ingest.submission import PredictionsFile

        fixed = FixedLearner(PredictionsFile(Path(cfg.predictions)))
        report = mine(
            ctx.engine, lambda _fold: fixed, cfg, actor, job_id=ctx.job_id, progress=ctx.progress, learner="baseline"
        )
        return _mining_result(ctx, report)
    spec = load_models(ctx.settings.models).get(cfg.model)
    if spec is not None and cfg.inference:
        spec = replace(spec, inference=cfg.inference)
    if spec is not None and spec.is_learner:
        done = kfold_learner(ctx, spec, cfg, actor)
        result = _mining_result(ctx, done.report, [f"ensemble {done.ensemble}"])
        return {**result, "ensemble": done.ensemble, "fold_models": done.fold_models, "fold_scores": done.fold_scores}
    if spec is None:
        # A registered model (an SFT model, an ensemble) predicts every fold as it is, like an external LLM; the
        # baseline is always a models-file entry, so a registered name always gives a predictor.
        learner: Any = FixedLearner(predictor_for(ctx.engine, ctx.settings.models, cfg.model, cfg.inference))
    else:
        learner = learner_for(spec)  # loaded once: K-fold asks for it once per fold
    # A round opened here retrains a learner: the baseline unless the mining model is one (an external LLM or a
    # registered model only predicts).
    retrains = cfg.model if spec is not None and spec.kind == "baseline" else "baseline"
    report = mine(
        ctx.engine, lambda _fold: learner, cfg, actor, job_id=ctx.job_id, progress=ctx.progress, learner=retrains
    )
    return _mining_result(ctx, report)


def _mining_result(ctx: JobContext, report: MiningReport, extra_lines: list[str] | None = None) -> dict[str, Any]:
    ctx.metric(score=report.report.score, badcases=report.n_badcases)
    return {
        "round": report.round_no,
        "run_id": report.run_id,
        "score": report.report.score,
        "principal_accuracy": report.report.principal_accuracy,
        "other_f1": report.report.other_f1,
        "badcases": report.n_badcases,
        "by_error": report.by_error,
        "metric": report.report.metric,
        "patients_with_several_admissions": report.patients_with_several,
        "lines": report.lines() + (extra_lines or []),
    }


def predict_dataset(
    engine: Engine,
    settings: Settings,
    model: str,
    dataset: str,
    out: Path,
    actor: str,
    inference: str | None = None,
    train_dataset: str = "train",
    progress: Progress | None = None,
) -> tuple[int, int, ScoreReport | None]:
    """Predict every record of a dataset, write a submission, store the run; (run id, records, score).

    ``model`` is any name: the baseline (fitted on ``train_dataset``), an external LLM, a registered SFT or
    GRPO model, or a K-fold ensemble (which votes)."""
    entry = find_model(engine, settings.models, model)
    is_baseline = entry.kind == "baseline"
    with read_session(engine) as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == dataset))
        if ds is None:
            raise InputError(f"there is no dataset {dataset!r}")
        recs = list(
            s.scalars(select(Record).where(Record.dataset_id == ds.id, Record.origin == "original").order_by(Record.id))
        )
        if not recs:
            raise InputError(f"dataset {dataset!r} has no records")
        train = [record_dict(r) for r in labelled_records(s, train_dataset)] if is_baseline else []
    rows = [record_dict(r) for r in recs]
    predictor = predictor_for(engine, settings.models, model, inference)
    if predictor is None:
        predictor = BaselineLearner().fit(train)
    preds = predictor.predict(rows, progress=progress)
    write_submission(out, {r.case_id: (p.principal, list(p.others)) for r, p in zip(recs, preds, strict=True)})

    labelled = {r.case_id: (r.principal_code, r.other_codes or []) for r in recs if r.principal_code}
    report = (
        score(labelled, {r.case_id: (p.principal, list(p.others)) for r, p in zip(recs, preds, strict=True)})
        if labelled
        else None
    )
    with write_session(engine) as s:
        run = ModelRun(
            kind="predict",
            model_name=model,
            dataset_id=ds.id,
            config={
                "inference": inference,
                "model_kind": entry.kind,
                "train_dataset": train_dataset if is_baseline else None,
                "out": str(out),
            },
            n_records=len(recs),
            score=report.score if report else None,
            principal_accuracy=report.principal_accuracy if report else None,
            other_f1=report.other_f1 if report else None,
        )
        s.add(run)
        s.flush()
        s.add_all(
            Prediction(
                run_id=run.id,
                record_id=r.id,
                principal_code=p.principal,
                other_codes=list(p.others),
                raw_output=p.raw,
                parsed=p.parsed,
                votes=p.votes,
                score=record_score(labelled[r.case_id], (p.principal, p.others)) if r.case_id in labelled else None,
            )
            for r, p in zip(recs, preds, strict=True)
        )
        audit(s, actor, "predict", dataset, run_id=run.id, model=model, out=str(out))
        run_id = run.id
    return run_id, len(recs), report


def write_run_submission(engine: Engine, run_id: int, out: Path) -> int:
    """A stored run's predictions as a submission file (e.g. out-of-fold predictions, for `sradit score`)."""
    with read_session(engine) as s:
        rows = s.execute(
            select(Record.case_id, Prediction.principal_code, Prediction.other_codes)
            .join(Record, Record.id == Prediction.record_id)
            .where(Prediction.run_id == run_id)
            .order_by(Record.id)
        ).all()
    if not rows:
        raise InputError(f"run {run_id} has no predictions")
    write_submission(out, {cid: (main, list(others)) for cid, main, others in rows})
    return len(rows)


@dataclass(frozen=True)
class DatasetChoice:
    """A dataset the Models page offers to predict, with what it holds."""

    name: str
    records: int
    labelled: int  #: records with gold codes: the predictions are scored against them

    def label(self) -> str:
        scored = f"{self.labelled} labelled: scored" if self.labelled else "no labels: not scored"
        return f"{self.name} ({self.records} records, {scored})"


def datasets_to_predict(engine: Engine) -> list[DatasetChoice]:
    """Every dataset, oldest first, with its record and labelled-record counts."""
    query = (
        select(Dataset.name, func.count(Record.id), func.count(Record.principal_code))
        .join(Record, Record.dataset_id == Dataset.id, isouter=True)
        .group_by(Dataset.id, Dataset.name)
        .order_by(Dataset.id)
    )
    with read_session(engine) as s:
        return [DatasetChoice(name, records, labelled) for name, records, labelled in s.execute(query)]


@dataclass(frozen=True)
class PredictParams:
    """The predict job's: `sradit predict` from the UI."""

    model: str
    dataset: str
    inference: str | None = None  #: greedy | tcecp; None: the model's own setting
    train_dataset: str = "train"  #: what the baseline is fitted on

    def __post_init__(self) -> None:
        if self.inference is not None:
            require_one_of("inference", self.inference, INFERENCE_MODES)


def predict_job(params: PredictParams, ctx: JobContext) -> dict[str, Any]:
    """Job handler: `sradit predict` from the UI; the submission goes into the job's folder."""
    out = job_dir(ctx.settings, ctx.job_id) / "submission.json"
    run_id, n, report = predict_dataset(
        ctx.engine,
        ctx.settings,
        params.model,
        params.dataset,
        out,
        ctx.actor,
        params.inference,
        params.train_dataset,
        ctx.progress,
    )
    lines = [f"{n} predictions written to {out} (run {run_id})", *(report.lines() if report else [])]
    if report:
        ctx.metric(score=report.score)
    return {"run_id": run_id, "records": n, "out": str(out), "lines": lines}
