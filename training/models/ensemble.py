"""The K-fold SFT ensemble's vote (paper table 3, "5-fold SFT with voting"): one prediction from its folds.

Principal code: the majority of the folds' answers; a tie goes to the fold with the best held-out score
(its out-of-fold score when K-fold trained it), and an unreadable answer never wins. Other codes: those
named by at least ``min_share`` of the folds (the paper merges the folds' sets; 0.5 keeps a code named by
half of them).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pipeline.protocols import CodePrediction, Predictor, Progress
from training import tcecp

DEFAULT_MIN_SHARE = 0.5


@dataclass(frozen=True)
class Member:
    """One fold's coder with its held-out score (higher is better; None sorts last)."""

    fold: int
    score: float | None


def vote_principal(answers: Sequence[str | None], members: Sequence[Member]) -> str | None:
    """Majority of the readable answers; ties to the best-scoring fold among the tied answers."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    top = max(counts.values())
    tied = {a for a, n in counts.items() if n == top}
    if len(tied) == 1:
        return next(iter(tied))
    ranked = sorted(
        range(len(answers)),
        key=lambda i: (members[i].score is not None, members[i].score or 0.0, -members[i].fold),
        reverse=True,
    )
    return next(answers[i] for i in ranked if answers[i] in tied)


def vote_others(sets: Sequence[Sequence[str]], min_share: float = DEFAULT_MIN_SHARE) -> list[str]:
    """Codes named by at least ``min_share`` of the folds, in the order they first appear."""
    if not 0 < min_share <= 1:
        raise ValueError(f"min_share must be in (0, 1], got {min_share}")
    return tcecp.vote_others(sets, min_votes=max(1, math.ceil(min_share * len(sets) - 1e-9)))


def vote(
    predictions: Sequence[CodePrediction], members: Sequence[Member], min_share: float = DEFAULT_MIN_SHARE
) -> CodePrediction:
    """The ensemble's prediction for one record from its members' predictions (same order as ``members``)."""
    principal = vote_principal([p.principal for p in predictions], members)
    others = [c for c in vote_others([p.others for p in predictions], min_share) if c != principal]
    votes = {
        "folds": [m.fold for m in members],
        "principal": [p.principal for p in predictions],
        "other": [list(p.others) for p in predictions],
    }
    return CodePrediction(principal, tuple(others), None, any(p.parsed for p in predictions), votes)


class EnsemblePredictor:
    """Predicts with every member and votes; members are loaded one at a time to bound memory."""

    def __init__(
        self, members: Sequence[tuple[Member, Callable[[], Predictor]]], min_share: float = DEFAULT_MIN_SHARE
    ) -> None:
        self.members = list(members)  #: (member, a loader of its predictor)
        self.min_share = min_share

    def predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> list[CodePrediction]:
        per_member: list[list[CodePrediction]] = []
        for i, (_member, load) in enumerate(self.members):
            predictor = load()
            per_member.append(predictor.predict(records))
            del predictor
            if progress:
                progress(i + 1, len(self.members))
        meta = [m for m, _ in self.members]
        return [vote([preds[r] for preds in per_member], meta, self.min_share) for r in range(len(records))]
