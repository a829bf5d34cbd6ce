"""The competition metric: 0.5 × principal exact match + 0.5 × F1 of the other-code sets."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

Labels = tuple[str | None, Collection[str]]


def set_f1(gold: Collection[str], pred: Collection[str]) -> float:
    """F1 of two code sets; two empty sets agree perfectly, one empty set scores 0."""
    g, p = set(gold), set(pred)
    if not g and not p:
        return 1.0
    if not g or not p:
        return 0.0
    return 2 * len(g & p) / (len(g) + len(p))


def record_score(gold: Labels, pred: Labels | None) -> float:
    """One record's score in [0, 1]; a missing prediction scores 0."""
    if pred is None:
        return 0.0
    return 0.5 * float(pred[0] is not None and pred[0] == gold[0]) + 0.5 * set_f1(gold[1], pred[1])


@dataclass(frozen=True)
class ScoreReport:
    score: float  #: mean record score × 100, the leaderboard figure
    principal_accuracy: float  #: share of records whose principal code is exact
    other_f1: float  #: mean F1 of the other-code sets
    n_records: int
    n_missing: int  #: gold records with no prediction (scored 0)
    extra_ids: list[str] = field(default_factory=list)  #: predictions for ids not in the gold set

    def lines(self) -> list[str]:
        out = [
            f"score            {self.score:.2f}",
            f"principal acc.   {self.principal_accuracy * 100:.2f}",
            f"other F1         {self.other_f1 * 100:.2f}",
            f"records          {self.n_records}",
        ]
        if self.n_missing:
            out.append(f"missing preds    {self.n_missing} (scored 0)")
        if self.extra_ids:
            out.append(f"ignored preds    {len(self.extra_ids)} for ids not in the gold file")
        return out


def score(gold: Mapping[str, Labels], pred: Mapping[str, Labels]) -> ScoreReport:
    """Score predictions keyed by record id against gold labels keyed the same way."""
    if not gold:
        return ScoreReport(0.0, 0.0, 0.0, 0, 0, sorted(pred))
    total = main_hits = f1_sum = 0.0
    missing = 0
    for rid, labels in gold.items():
        p = pred.get(rid)
        if p is None:
            missing += 1
            continue
        total += record_score(labels, p)
        main_hits += float(p[0] is not None and p[0] == labels[0])
        f1_sum += set_f1(labels[1], p[1])
    n = len(gold)
    return ScoreReport(
        score=100 * total / n,
        principal_accuracy=main_hits / n,
        other_f1=f1_sum / n,
        n_records=n,
        n_missing=missing,
        extra_ids=sorted(set(pred) - set(gold)),
    )
