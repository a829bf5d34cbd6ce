"""The competition metric, both published formulas, per record 0.5 × [principal exact] plus 0.5 × either:

- ``f1`` (the paper's eq. 6, the default): F1 of the other-code sets;
- ``recall`` (the task's own published description): |pred ∩ gold| / |gold| of the other codes.

The mean over records ×100 is the leaderboard figure. Codes are compared exactly as given (sets: a duplicate
counts once); cleaning a model's output is the predictor's business, never the scorer's. Two empty sets
agree (1.0) under both formulas; an empty gold set with predicted codes scores 0 under F1 and 1 under recall
(there is nothing to recall). A missing prediction scores 0.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from pipeline.domain.vocabulary import SCORE_METRICS

Labels = tuple[str | None, Collection[str]]


def set_f1(gold: Collection[str], pred: Collection[str]) -> float:
    """F1 of two code sets; two empty sets agree perfectly, one empty set scores 0."""
    g, p = set(gold), set(pred)
    if not g and not p:
        return 1.0
    if not g or not p:
        return 0.0
    return 2 * len(g & p) / (len(g) + len(p))


def set_recall(gold: Collection[str], pred: Collection[str]) -> float:
    """|pred ∩ gold| / |gold|; an empty gold set leaves nothing to recall (1.0)."""
    g = set(gold)
    return len(g & set(pred)) / len(g) if g else 1.0


def check_metric(metric: str) -> str:
    if metric not in SCORE_METRICS:
        from pipeline.errors import InputError

        raise InputError(f"metric {metric!r} is not one of {', '.join(SCORE_METRICS)}")
    return metric


def other_part(gold: Collection[str], pred: Collection[str], metric: str = "f1") -> float:
    return set_f1(gold, pred) if metric == "f1" else set_recall(gold, pred)


def record_score(gold: Labels, pred: Labels | None, metric: str = "f1") -> float:
    """One record's score in [0, 1]; a missing prediction scores 0."""
    if pred is None:
        return 0.0
    return 0.5 * float(pred[0] is not None and pred[0] == gold[0]) + 0.5 * other_part(gold[1], pred[1], metric)


@dataclass(frozen=True)
class ScoreReport:
    score: float  #: mean record score × 100, the leaderboard figure
    principal_accuracy: float  #: share of records whose principal code is exact
    other_f1: float  #: mean F1 of the other-code sets
    n_records: int
    n_missing: int  #: gold records with no prediction (scored 0)
    extra_ids: list[str] = field(default_factory=list)  #: predictions for ids not in the gold set
    metric: str = "f1"  #: which formula ``score`` is (see the module docstring)
    other_recall: float = 0.0  #: mean recall of the other-code sets

    def lines(self) -> list[str]:
        """``score  NN.NN  (f1)`` first, then the parts; warnings (missing, ignored) in :meth:`warnings`."""
        return [
            f"score  {self.score:.2f}  ({self.metric})",
            f"principal acc.   {self.principal_accuracy * 100:.2f}",
            f"other F1         {self.other_f1 * 100:.2f}",
            f"other recall     {self.other_recall * 100:.2f}",
            f"records          {self.n_records}",
            *self.warnings(),
        ]

    def warnings(self) -> list[str]:
        out = []
        if self.n_missing:
            out.append(f"missing preds    {self.n_missing} (scored 0)")
        if self.extra_ids:
            out.append(f"ignored preds    {len(self.extra_ids)} for ids not in the gold file")
        return out

    def label(self) -> str:
        """``NN.NN (f1)``: a score always names its formula."""
        return f"{self.score:.2f} ({self.metric})"


def score(gold: Mapping[str, Labels], pred: Mapping[str, Labels], metric: str = "f1") -> ScoreReport:
    """Score predictions keyed by record id against gold labels keyed the same way, with ``metric``."""
    check_metric(metric)
    if not gold:
        return ScoreReport(0.0, 0.0, 0.0, 0, 0, sorted(pred), metric)
    total = main_hits = f1_sum = recall_sum = 0.0
    missing = 0
    for rid, labels in gold.items():
        p = pred.get(rid)
        if p is None:
            missing += 1
            continue
        total += record_score(labels, p, metric)
        main_hits += float(p[0] is not None and p[0] == labels[0])
        f1_sum += set_f1(labels[1], p[1])
        recall_sum += set_recall(labels[1], p[1])
    n = len(gold)
    return ScoreReport(
        score=100 * total / n,
        principal_accuracy=main_hits / n,
        other_f1=f1_sum / n,
        n_records=n,
        n_missing=missing,
        extra_ids=sorted(set(pred) - set(gold)),
        metric=metric,
        other_recall=recall_sum / n,
    )
