"""The K-fold SFT ensemble's vote (paper table 3, "5-fold SFT with voting"): one prediction from its folds.

Principal code: the majority of the folds' answers; a tie goes to the fold with the best held-out score
(its out-of-fold score when K-fold trained it), and an unreadable answer never wins. Other codes: those
named by at least ``min_share`` of the folds (the paper merges the folds' sets; 0.5 keeps a code named by
half of them).
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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
    """Predicts with every member and votes.

    A member is loaded once, on first use, and kept for the next batches (the label filter calls ``predict`` per
    batch): ``max_loaded`` bounds how many local members stay loaded at once (the least recently used goes
    first; on one GPU, 1). Remote members (``remote``: an OpenAI-compatible endpoint, such as one ``vllm serve``
    with a LoRA adapter per fold) hold nothing here: they are always kept and queried concurrently; local
    members run one after another, since each holds a model in memory."""

    def __init__(
        self,
        members: Sequence[tuple[Member, Callable[[], Predictor]]],
        min_share: float = DEFAULT_MIN_SHARE,
        *,
        remote: Sequence[bool] | None = None,
        max_loaded: int | None = None,
    ) -> None:
        self.members = list(members)  #: (member, a loader of its predictor)
        self.min_share = min_share
        self.remote = list(remote) if remote is not None else [False] * len(self.members)
        if len(self.remote) != len(self.members):
            raise ValueError("remote: one flag per member")
        self.max_loaded = max_loaded
        self._loaded: OrderedDict[int, Predictor] = OrderedDict()
        self.loads = 0  #: how many times a member was loaded (for the Jobs log and the tests)

    def _member(self, i: int) -> Predictor:
        if i in self._loaded:
            self._loaded.move_to_end(i)
            return self._loaded[i]
        local = [k for k in self._loaded if not self.remote[k]]
        while not self.remote[i] and self.max_loaded is not None and local and len(local) >= self.max_loaded:
            del self._loaded[local.pop(0)]
        predictor = self.members[i][1]()
        self.loads += 1
        self._loaded[i] = predictor
        return predictor

    def predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> list[CodePrediction]:
        per_member: dict[int, list[CodePrediction]] = {}
        done = 0
        remote = [i for i in range(len(self.members)) if self.remote[i]]
        if remote:
            with ThreadPoolExecutor(max_workers=len(remote)) as pool:
                predictors = {i: self._member(i) for i in remote}
                futures = {i: pool.submit(predictors[i].predict, records) for i in remote}
                for i in remote:
                    per_member[i] = futures[i].result()
                    done += 1
                    if progress:
                        progress(done, len(self.members))
        for i in range(len(self.members)):
            if self.remote[i]:
                continue
            per_member[i] = self._member(i).predict(records)
            done += 1
            if progress:
                progress(done, len(self.members))
        meta = [m for m, _ in self.members]
        ordered = [per_member[i] for i in range(len(self.members))]
        return [vote([preds[r] for preds in ordered], meta, self.min_share) for r in range(len(records))]
