"""Figures per round: the dashboard of the home page and the Rounds page, and `sradit round status`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from db.engine import read_session
from db.models import Badcase, ModelRun, Prediction, Record, Round, Selection
from pipeline.augment.filter_chain import funnel
from pipeline.review.board import expert_minutes_per_badcase
from pipeline.review.label_issues import label_issue_counts
from pipeline.rounds.driver import reward_preview, sync
from pipeline.rounds.external import waiting_for
from pipeline.rounds.lifecycle import decided_text, expert_minutes_per_approved, review_complete
from pipeline.rounds.lookup import open_round_of, rounds


@dataclass(frozen=True)
class RoundRow:
    number: int
    status: str
    mode: str
    badcases: int | None
    fixed: int | None
    still_wrong: int | None
    funnel: list[tuple[str, int]]
    approved: int
    expert_minutes_per_approved: float | None
    #: median active expert time on a badcase (per expert and badcase; gaps of over a minute left out)
    expert_minutes_per_badcase: float | None
    score_before: float | None
    score_after: float | None
    principal_before: float | None
    principal_after: float | None
    other_f1_before: float | None
    other_f1_after: float | None
    models: dict[str, list[str]]  #: registered names it mined, filtered and trained with
    before_measured: str  #: out-of-fold | in-sample (policy mining)
    after_measured: str | None  #: out-of-fold (baseline) | in-sample (LLM policy on its training records)
    metric: str  #: f1 | recall: which formula the scores are
    #: label issues flagged on its badcases, by status: open, accepted, dismissed
    label_issues: dict[str, int] = field(default_factory=lambda: {"open": 0, "accepted": 0, "dismissed": 0})


def round_rows(engine: Engine) -> list[RoundRow]:
    out = []
    with read_session(engine) as s:
        approved = dict(
            s.execute(
                select(Round.number, func.count(Selection.badcase_id))
                .join(Badcase, Badcase.round_id == Round.id)
                .join(Selection, Selection.badcase_id == Badcase.id)
                .group_by(Round.number)
            ).all()
        )
        mined = {
            number: run
            for number, run in s.execute(
                select(Round.number, ModelRun)
                .join(ModelRun, ModelRun.round_id == Round.id)
                .where(ModelRun.kind == "kfold")
            ).all()
        }
        counts = dict(
            s.execute(
                select(Round.number, func.count(Badcase.id))
                .join(Badcase, Badcase.round_id == Round.id)
                .group_by(Round.number)
            ).all()
        )
    issues = label_issue_counts(engine)
    for r in rounds(engine):
        res = r.results
        ident, train = res.identifying, res.training
        run = mined.get(r.number)
        out.append(
            RoundRow(
                number=r.number,
                status=r.status,
                mode=r.mode,
                badcases=counts.get(r.number),
                fixed=train.fixed if train else None,
                still_wrong=train.still_wrong if train else None,
                funnel=funnel(engine, r.number),
                approved=approved.get(r.number, 0),
                expert_minutes_per_approved=expert_minutes_per_approved(engine, r.number),
                expert_minutes_per_badcase=expert_minutes_per_badcase(engine, r.number),
                score_before=run.score if run else None,
                score_after=train.score_after if train else None,
                principal_before=run.principal_accuracy if run else None,
                principal_after=train.principal_accuracy_after if train else None,
                other_f1_before=run.other_f1 if run else None,
                other_f1_after=train.other_f1_after if train else None,
                models=res.models(),
                before_measured=ident.measured if ident else "out-of-fold",
                after_measured=(train.measured or "out-of-fold") if train else None,
                metric=(run.config or {}).get("metric", "f1") if run else "f1",
                label_issues=issues.get(r.number, {"open": 0, "accepted": 0, "dismissed": 0}),
            )
        )
    return out


def status_lines(engine: Engine) -> list[str]:
    """`sradit round status`: one line per round, ``round N  <status>  …`` with the models it used. The open
    round is brought up to date first, so stages finished by hand show."""
    current = open_round_of(engine)
    if current is not None:
        sync(engine, current.number)
    lines = []
    for r in rounds(engine):
        ident, train = r.results.identifying, r.results.training
        line = f"round {r.number}  {r.status:<12} {r.mode:<16} dataset {r.config.dataset}"
        if ident:
            line += f"  badcases {ident.badcases}  score {ident.score or 0:.2f} ({ident.metric}, {ident.measured})"
        if r.status == "in_review":
            decided, total = review_complete(engine, r.number)
            line += f"  {decided_text(decided, total)}"
        if r.status == "training":
            for name, preview in reward_preview(engine, r.number).items():
                line += f"  reward preview {name}: {preview['zero_spread_share']:.0%} of groups flat"
        waits = waiting_for(engine, r.number) if r.status == "training" else None
        if waits is not None:
            line += f"  ({waits.short()})"
        if train and train.score_after is not None:
            line += f" → {train.score_after:.2f} ({train.measured or 'out-of-fold'})  fixed {train.fixed}"
        models = r.models_line()
        lines.append(line + (f"  {models}" if models else ""))
    return lines


@dataclass(frozen=True)
class CodeAccuracy:
    code: str
    role: str  #: principal | other
    support: int  #: records with this gold code
    recall: float  #: share of them where the model predicted it


def per_code_accuracy(engine: Engine) -> list[CodeAccuracy]:
    """Per-code recall in the newest K-fold run, rarest codes first (the long tail)."""
    with read_session(engine) as s:
        run_id = s.scalar(select(ModelRun.id).where(ModelRun.kind == "kfold").order_by(ModelRun.id.desc()).limit(1))
        if run_id is None:
            return []
        rows = s.execute(
            select(Record.principal_code, Record.other_codes, Prediction.principal_code, Prediction.other_codes)
            .join(Prediction, Prediction.record_id == Record.id)
            .where(Prediction.run_id == run_id)
        ).all()
    support: Counter[tuple[str, str]] = Counter()
    hits: Counter[tuple[str, str]] = Counter()
    for gold_p, gold_o, pred_p, pred_o in rows:
        support[(gold_p, "principal")] += 1
        hits[(gold_p, "principal")] += gold_p == pred_p
        for c in gold_o or []:
            support[(c, "other")] += 1
            hits[(c, "other")] += c in (pred_o or [])
    out = [CodeAccuracy(code, role, n, hits[(code, role)] / n) for (code, role), n in support.items()]
    return sorted(out, key=lambda x: (x.support, x.code))
