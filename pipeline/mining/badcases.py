"""Badcases: what makes a training record one, which codes went wrong, and reading them back."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import Badcase, Prediction, Record, Round
from pipeline.domain.metric import set_f1
from pipeline.errors import InputError
from pipeline.rounds.lookup import in_round

DEFAULT_OTHER_F1_THRESHOLD = 0.5


@dataclass(frozen=True)
class Diagnosis:
    error_types: tuple[str, ...]  #: principal_miss, missing_other, extra_other
    missing: tuple[str, ...]  #: gold other codes the model did not predict
    extra: tuple[str, ...]  #: other codes the model predicted that are not gold
    other_f1: float
    is_badcase: bool


def diagnose(
    gold_principal: str,
    gold_others: Collection[str],
    pred_principal: str | None,
    pred_others: Collection[str],
    threshold: float = DEFAULT_OTHER_F1_THRESHOLD,
) -> Diagnosis:
    """A record is a badcase when its principal code is missed or its other-code F1 is below ``threshold``;
    the error types then say every way the prediction went wrong."""
    f1 = set_f1(gold_others, pred_others)
    missing = tuple(sorted(set(gold_others) - set(pred_others)))
    extra = tuple(sorted(set(pred_others) - set(gold_others)))
    types = []
    if pred_principal != gold_principal:
        types.append("principal_miss")
    if missing:
        types.append("missing_other")
    if extra:
        types.append("extra_other")
    return Diagnosis(tuple(types), missing, extra, f1, is_badcase=pred_principal != gold_principal or f1 < threshold)


@dataclass(frozen=True)
class BadcaseRow:
    id: int
    round_no: int
    case_id: str
    error_types: tuple[str, ...]
    gold_principal: str
    predicted_principal: str | None
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    other_f1: float
    score: float
    status: str
    #: how confident the out-of-fold model is that the gold codes are wrong (pipeline.mining.label_quality)
    label_error_confidence: float | None = None


@dataclass(frozen=True)
class BadcaseDetail:
    row: BadcaseRow
    sections: dict[str, str]
    gold_others: tuple[str, ...]
    predicted_others: tuple[str, ...]
    raw_output: str | None
    names: dict[str, str]  #: code → name for every code shown


def list_badcases(
    engine: Engine, round_no: int | None = None, error_type: str | None = None, code: str | None = None
) -> list[BadcaseRow]:
    """Badcases, newest round first; filtered by round, error type and a code involved (gold or predicted)."""
    with read_session(engine) as s:
        q = (
            select(Badcase, Round.number, Record.case_id)
            .join(Round, Round.id == Badcase.round_id)
            .join(Record, Record.id == Badcase.record_id)
            .order_by(Round.number.desc(), Badcase.score, Record.case_id)
        )
        if round_no is not None:
            q = q.where(in_round(Badcase.round_id, round_no))
        rows = [_row(b, n, cid) for b, n, cid in s.execute(q)]
    if error_type:
        rows = [r for r in rows if error_type in r.error_types]
    if code:
        rows = [r for r in rows if code in (r.gold_principal, r.predicted_principal, *r.missing, *r.extra)]
    return rows


def _row(b: Badcase, round_no: int, case_id: str) -> BadcaseRow:
    return BadcaseRow(
        b.id,
        round_no,
        case_id,
        tuple(b.error_types),
        b.gold_principal,
        b.predicted_principal,
        tuple(b.missing_codes),
        tuple(b.extra_codes),
        b.other_f1,
        b.score,
        b.status,
        b.label_error_confidence,
    )


def badcase_detail(engine: Engine, badcase_id: int) -> BadcaseDetail:
    from pipeline.ingest.dictionary import code_names

    with read_session(engine) as s:
        found = s.execute(
            select(Badcase, Round.number, Record, Prediction)
            .join(Round, Round.id == Badcase.round_id)
            .join(Record, Record.id == Badcase.record_id)
            .join(Prediction, Prediction.id == Badcase.prediction_id)
            .where(Badcase.id == badcase_id)
        ).first()
        if found is None:
            raise InputError(f"there is no badcase {badcase_id}")
        b, number, rec, pred = found
        names = code_names(s)
        shown = {rec.principal_code, pred.principal_code, *(rec.other_codes or []), *pred.other_codes}
        return BadcaseDetail(
            row=_row(b, number, rec.case_id),
            sections=dict(rec.sections),
            gold_others=tuple(rec.other_codes or []),
            predicted_others=tuple(pred.other_codes),
            raw_output=pred.raw_output,
            names={c: names.get(c, "?") for c in shown if c},
        )
