"""K-fold badcase mining: out-of-fold predictions for every labelled record, and the badcases among them.

Nothing is written until every fold has been predicted; then the round, the run, its predictions and
its badcases are stored in one transaction, so a failed or interrupted mining leaves no trace.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, aliased

from db.engine import read_session, write_session
from db.models import Badcase, Dataset, ModelRun, Prediction, Record, Round
from pipeline.audit import audit
from pipeline.domain.metric import ScoreReport, record_score, score
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY
from pipeline.errors import InputError
from pipeline.mining.badcases import DEFAULT_OTHER_F1_THRESHOLD, diagnose
from pipeline.mining.folds import assign_folds, several_admissions
from pipeline.mining.label_quality import label_issue_confidences
from pipeline.protocols import CodePrediction, Learner, Progress
from pipeline.rounds.lookup import maybe_round, round_id


@dataclass(frozen=True)
class MiningConfig:
    dataset: str = field(default="train", metadata={"help": "Labelled dataset to mine."})
    folds: int = field(default=5, metadata={"help": "Number of folds (stratified by principal code)."})
    seed: int = field(default=0, metadata={"help": "Seed of the fold assignment."})
    round_no: int | None = field(default=None, metadata={"help": "Round to mine into; default: a new round."})
    threshold: float = field(
        default=DEFAULT_OTHER_F1_THRESHOLD,
        metadata={"help": "A record whose other-code F1 is below this is a badcase (as is a principal miss)."},
    )
    model: str = field(default="baseline", metadata={"help": "Name of the model (models file) that predicts."})
    predictions: str | None = field(
        default=None,
        metadata={"help": "Out-of-fold predictions made elsewhere (submission format): mined instead of a model's."},
    )
    inference: str | None = field(
        default=None, metadata={"help": "greedy | tcecp for an LLM (None: the model's own setting)."}
    )
    metric: str | None = field(
        default=None, metadata={"help": "f1 | recall: the reported score (badcases keep F1); None: f1."}
    )
    group: str | None = field(
        default=None, metadata={"help": "patient: a patient's admissions share a fold | record; None: patient."}
    )


@dataclass(frozen=True)
class MiningReport:
    round_no: int
    run_id: int
    report: ScoreReport
    n_badcases: int
    by_error: dict[str, int]
    patients_with_several: int = 0  #: patients with more than one admission, each kept in one fold

    def lines(self) -> list[str]:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.by_error.items()))
        return [
            f"round {self.round_no}: out-of-fold predictions stored as run {self.run_id}",
            *self.report.lines(),
            f"badcases         {self.n_badcases} ({errors or 'none'})",
            f"patients         {self.patients_with_several} with more than one admission, each kept in one fold",
        ]


def record_dict(rec: Record) -> dict[str, str]:
    """A stored record in the competition format, which every model reads."""
    out = {ID_KEY: rec.case_id, **rec.sections}
    if rec.principal_code is not None:
        out[MAIN_KEY] = rec.principal_code
        out[OTHER_KEY] = ";".join(rec.other_codes or [])
    return out


def round_dataset(session: Session, round_no: int) -> Dataset:
    """The dataset a round was mined from (its K-fold run's dataset)."""
    rid = round_id(session, round_no)
    ds = session.scalar(
        select(Dataset)
        .join(ModelRun, ModelRun.dataset_id == Dataset.id)
        .where(ModelRun.round_id == rid, ModelRun.kind == "kfold")
        .limit(1)
    )
    if ds is None:
        raise InputError(f"round {round_no} has no K-fold run: mine it first (`sradit kfold --round {round_no}`)")
    return ds


def labelled_records(session: Session, dataset: str) -> list[Record]:
    ds = session.scalar(select(Dataset).where(Dataset.name == dataset))
    if ds is None:
        names = ", ".join(session.scalars(select(Dataset.name))) or "none"
        raise InputError(f"there is no dataset {dataset!r} (datasets: {names})")
    recs = list(
        session.scalars(
            select(Record)
            .where(Record.dataset_id == ds.id, Record.origin == "original", Record.principal_code.is_not(None))
            .order_by(Record.id)
        )
    )
    if not recs:
        raise InputError(f"dataset {dataset!r} has no labelled records to mine")
    return recs


def merged_variants(session: Session, dataset_id: int) -> list[tuple[str, dict[str, str]]]:
    """(parent 病案标识, record) for the variants an earlier round merged into this dataset."""
    parent = aliased(Record)
    rows = session.execute(
        select(Record, parent.case_id)
        .join(parent, parent.id == Record.parent_id)
        .where(Record.dataset_id == dataset_id, Record.origin == "variant", Record.principal_code.is_not(None))
        .order_by(Record.id)
    ).all()
    return [(parent_case, record_dict(rec)) for rec, parent_case in rows]


@dataclass(frozen=True)
class FoldSplit:
    """One fold of K-fold: what its model trains on and the held-out records it predicts."""

    fold: int
    train: list[dict[str, str]]
    held: list[dict[str, str]]


#: Trains every fold's model and predicts its held-out records: one after another here (:func:`in_turn`), or all
#: at once on a cluster (training.models.ray_folds); returns {病案标识: prediction} of every held-out record.
FoldRunner = Callable[[list[FoldSplit], Progress | None], dict[str, CodePrediction]]


def fold_splits(
    rows: list[dict[str, str]], variants: list[tuple[str, dict[str, str]]], folds: dict[str, int], k: int
) -> list[FoldSplit]:
    """Merged variants join the training folds, never the fold of their own parent record (that would show the
    model a rewrite of the record it is tested on)."""
    return [
        FoldSplit(
            f,
            [row for row in rows if folds[row[ID_KEY]] != f]
            + [row for parent, row in variants if folds.get(parent, -1) != f],
            [row for row in rows if folds[row[ID_KEY]] == f],
        )
        for f in range(k)
    ]


def in_turn(learner_factory: Callable[[int], Learner]) -> FoldRunner:
    """Each fold's model trained and asked in turn, in this process."""

    def run(splits: list[FoldSplit], progress: Progress | None) -> dict[str, CodePrediction]:
        predicted: dict[str, CodePrediction] = {}
        k = len(splits)
        for split in splits:
            model = learner_factory(split.fold).fit(split.train)
            if progress:
                progress(2 * split.fold + 1, 2 * k)
            for row, pred in zip(split.held, model.predict(split.held), strict=True):
                predicted[row[ID_KEY]] = pred
            if progress:
                progress(2 * split.fold + 2, 2 * k)
        return predicted

    return run


def oof_predictions(
    rows: list[dict[str, str]],
    variants: list[tuple[str, dict[str, str]]],
    folds: dict[str, int],
    k: int,
    learner_factory: Callable[[int], Learner],
    progress: Progress | None = None,
    runner: FoldRunner | None = None,
) -> dict[str, CodePrediction]:
    """Out-of-fold predictions of the original records (see :func:`fold_splits`)."""
    return (runner or in_turn(learner_factory))(fold_splits(rows, variants, folds, k), progress)


def check_round(session: Session, round_no: int | None) -> int:
    """The round a mining goes into: ``round_no``, or the next one; refused when it has badcases already."""
    latest = session.scalar(select(func.max(Round.number))) or 0
    if round_no is None:
        return latest + 1
    if round_no < 1:
        raise InputError(f"--round must be 1 or more, got {round_no}")
    rnd = maybe_round(session, round_no)
    if rnd is not None and session.scalar(select(func.count()).where(Badcase.round_id == rnd.id)):
        raise InputError(
            f"round {round_no} has already been mined and its badcases are kept; "
            f"mine a new round (--round {latest + 1}, or leave --round out)"
        )
    return round_no


def mine(
    engine: Engine,
    learner_factory: Callable[[int], Learner],
    cfg: MiningConfig,
    actor: str,
    job_id: int | None = None,
    progress: Progress | None = None,
    learner: str | None = None,
    runner: FoldRunner | None = None,
) -> MiningReport:
    """Predict every labelled record out of fold and store the run and its badcases in the round. A round this
    opens records ``learner`` as the one it retrains (default: the mining model itself). ``runner``: how the
    folds are trained and predicted (default: in turn, with ``learner_factory``)."""
    with read_session(engine) as s:
        round_no = check_round(s, cfg.round_no)
        recs = labelled_records(s, cfg.dataset)
        dataset_id = recs[0].dataset_id
        rows = [record_dict(r) for r in recs]
        extra = merged_variants(s, dataset_id)
    ids = {r.case_id: r.id for r in recs}
    case_ids = [r.case_id for r in recs]
    folds = assign_folds(case_ids, [r.principal_code or "" for r in recs], cfg.folds, cfg.seed, cfg.group or "patient")
    predicted = oof_predictions(rows, extra, folds, cfg.folds, learner_factory, progress, runner)

    gold = {r.case_id: (r.principal_code, r.other_codes or []) for r in recs}
    report = score(gold, {cid: (p.principal, list(p.others)) for cid, p in predicted.items()}, cfg.metric or "f1")
    with write_session(engine) as s:
        # Checked again under the write lock: another mining may have taken the round meanwhile.
        round_no = check_round(s, round_no)
        rnd = maybe_round(s, round_no) or Round(
            number=round_no,
            status="generating",
            # A round started by `sradit kfold` records what it was mined with, as `round start` would.
            config={
                "mining": "kfold",
                "learner": learner or cfg.model,
                # What predicted, when it was not the learner the round retrains (a file, a registered model).
                "mined_with": cfg.model if learner not in (None, cfg.model) else None,
                "dataset": cfg.dataset,
                "folds": cfg.folds,
                "seed": cfg.seed,
                "threshold": cfg.threshold,
            },
        )
        s.add(rnd)
        s.flush()
        run = ModelRun(
            kind="kfold",
            model_name=cfg.model,
            dataset_id=dataset_id,
            round_id=rnd.id,
            job_id=job_id,
            config=_config_json(cfg, round_no),
            n_records=len(recs),
            score=report.score,
            principal_accuracy=report.principal_accuracy,
            other_f1=report.other_f1,
        )
        s.add(run)
        s.flush()
        by_error: Counter[str] = Counter()
        n_bad = 0
        doubts = label_issue_confidences(
            [(rec.principal_code or "", rec.other_codes or []) for rec in recs],
            [predicted[rec.case_id].votes for rec in recs],
        )
        for rec, doubt in zip(recs, doubts, strict=True):
            p = predicted[rec.case_id]
            pred_row = Prediction(
                run_id=run.id,
                record_id=rec.id,
                fold=folds[rec.case_id],
                principal_code=p.principal,
                other_codes=list(p.others),
                raw_output=p.raw,
                parsed=p.parsed,
                votes=p.votes,
                score=record_score(gold[rec.case_id], (p.principal, p.others)),
            )
            s.add(pred_row)
            d = diagnose(rec.principal_code or "", rec.other_codes or [], p.principal, p.others, cfg.threshold)
            if not d.is_badcase:
                continue
            s.flush()
            s.add(
                Badcase(
                    round_id=rnd.id,
                    record_id=rec.id,
                    prediction_id=pred_row.id,
                    error_types=list(d.error_types),
                    gold_principal=rec.principal_code or "",
                    predicted_principal=p.principal,
                    missing_codes=list(d.missing),
                    extra_codes=list(d.extra),
                    other_f1=d.other_f1,
                    score=pred_row.score or 0.0,
                    label_error_confidence=doubt,
                )
            )
            n_bad += 1
            by_error.update(d.error_types)
        s.execute(update(Record), [{"id": ids[cid], "fold": f} for cid, f in folds.items()])
        audit(s, actor, "kfold.mine", f"round {round_no}", run_id=run.id, badcases=n_bad, score=round(report.score, 2))
    return MiningReport(round_no, run.id, report, n_bad, dict(by_error), several_admissions(case_ids))


def _config_json(cfg: MiningConfig, round_no: int) -> dict[str, Any]:
    return {
        "dataset": cfg.dataset,
        "folds": cfg.folds,
        "seed": cfg.seed,
        "round": round_no,
        "threshold": cfg.threshold,
        "model": cfg.model,
        "predictions": cfg.predictions,
        "metric": cfg.metric or "f1",
        "group": cfg.group or "patient",
    }
