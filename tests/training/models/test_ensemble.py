"""The K-fold ensemble's vote, as a table of disagreeing folds with exact expected outputs."""

from __future__ import annotations

import pytest

from pipeline.protocols import CodePrediction
from training.models.ensemble import EnsemblePredictor, Member, vote, vote_others, vote_principal

A, B, C = "I20.000", "I21.401", "I10.x00x032"


@pytest.mark.parametrize(
    ("answers", "scores", "expected"),
    [
        ([A, A, B], [50, 60, 90], A),  # majority beats the best fold
        ([A, B], [50, 90], B),  # 1-1 tie: the better fold
        ([A, B], [90, 50], A),
        ([A, B, C, C, A], [10, 20, 30, 40, 99], A),  # 2-2 tie between A and C: fold 4 (99) said A
        ([A, None], [10, 99], A),  # an unreadable answer never wins
        ([None, None], [10, 20], None),
        ([A, B], [None, 10], B),  # a fold without a score ranks last
        ([A, B], [None, None], A),  # no scores at all: the lower fold number
    ],
)
def test_principal_vote(answers: list[str | None], scores: list[float | None], expected: str | None) -> None:
    members = [Member(fold=i, score=s) for i, s in enumerate(scores)]
    assert vote_principal(answers, members) == expected


@pytest.mark.parametrize(
    ("sets", "share", "expected"),
    [
        ([["x", "y"], ["y"], ["z"]], 0.5, ["y"]),  # 3 folds: at least 2
        ([["x", "y"], ["y"], ["z"]], 0.34, ["y"]),  # ceil(0.34 × 3) = 2 folds needed
        ([["x", "y"], ["y"]], 0.5, ["x", "y"]),  # 2 folds: 1 is half
        ([["x", "y"], ["y"]], 1.0, ["y"]),
        ([["y", "x"], ["x", "y"], []], 0.6, ["y", "x"]),  # order of first appearance
        ([[], []], 0.5, []),
    ],
)
def test_other_vote(sets: list[list[str]], share: float, expected: list[str]) -> None:
    assert vote_others(sets, share) == expected


def test_share_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="min_share"):
        vote_others([["x"]], 0.0)


def test_vote_drops_the_principal_from_the_others_and_keeps_the_votes() -> None:
    preds = [CodePrediction(A, ("x", B)), CodePrediction(B, ("x",)), CodePrediction(A, (B,), parsed=False)]
    out = vote(preds, [Member(0, 1.0), Member(1, 2.0), Member(2, 3.0)], min_share=0.5)
    assert out.principal == A and out.others == ("x", B)
    assert out.votes == {"folds": [0, 1, 2], "principal": [A, B, A], "other": [["x", B], ["x"], [B]]}
    out = vote([CodePrediction(B, (B, "x")), CodePrediction(B, (B,))], [Member(0, 1.0), Member(1, 1.0)])
    assert out.principal == B and out.others == ("x",)


class Fixed:
    def __init__(self, answer: str) -> None:
        self.answer = answer

    def predict(self, records, progress=None):  # noqa: ANN001, ANN201
        return [CodePrediction(self.answer, ()) for _ in records]


def test_ensemble_predictor_loads_each_member_and_votes() -> None:
    loaded: list[int] = []

    def loader(i: int, answer: str):  # noqa: ANN202
        def load() -> Fixed:
            loaded.append(i)
            return Fixed(answer)

        return load

    ens = EnsemblePredictor([(Member(0, 10), loader(0, A)), (Member(1, 90), loader(1, B))])
    out = ens.predict([{"病案标识": "r1"}, {"病案标识": "r2"}])
    assert [p.principal for p in out] == [B, B] and loaded == [0, 1]


@pytest.mark.parametrize(
    ("remote", "max_loaded", "loads"),
    [
        ([False, False, False], None, [0, 1, 2]),  # loaded once, reused for the second batch
        ([False, False, False], 1, [0, 1, 2, 0, 1, 2]),  # one local model at a time: each batch loads again
        ([True, True, False], 1, [0, 1, 2]),  # endpoints hold nothing: never evicted; the one local member stays
    ],
)
def test_members_are_loaded_once_and_kept_within_the_bound(
    remote: list[bool], max_loaded: int | None, loads: list[int]
) -> None:
    loaded: list[int] = []

    def loader(i: int):  # noqa: ANN202
        def load() -> Fixed:
            loaded.append(i)
            return Fixed(A)

        return load

    ens = EnsemblePredictor([(Member(i, None), loader(i)) for i in range(3)], remote=remote, max_loaded=max_loaded)
    for batch in ([{"病案标识": "r1"}], [{"病案标识": "r2"}]):
        assert [p.principal for p in ens.predict(batch)] == [A]
    assert sorted(loaded) == sorted(loads) and ens.loads == len(loads)
