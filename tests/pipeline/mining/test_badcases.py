"""Label-error confidence: how strongly the model's evidence goes against a badcase's gold codes."""

from __future__ import annotations

from typing import Any

from pipeline.mining.label_quality import label_issue_confidences

A, B, C = "I20.000", "I21.401", "I10.x00x032"


def _p(main: dict[str, float], others: dict[str, float]) -> dict[str, Any]:
    return {"principal_p": main, "other_p": others}


def test_records_whose_evidence_goes_against_their_gold_codes_rank_first() -> None:
    """Baseline probabilities over a small dataset: the record whose gold principal the evidence denies ranks
    first, the one whose gold lacks a code the evidence is sure of next (the hand-written confidence, which looked
    only at the gold codes, gave it 0.05), the records the evidence backs last."""
    gold = [(A, ["x"]), (A, ["x"]), (B, ["x"]), (A, []), (C, ["y"])]
    evidence = [
        _p({A: 0.9, B: 0.05, C: 0.05}, {"x": 0.9, "y": 0.1}),  # backed
        _p({A: 0.9, B: 0.05, C: 0.05}, {"x": 0.9, "y": 0.1}),  # backed
        _p({A: 0.9, B: 0.05, C: 0.05}, {"x": 0.9, "y": 0.1}),  # gold principal B, evidence A
        _p({A: 0.9, B: 0.05, C: 0.05}, {"x": 0.95, "y": 0.1}),  # gold lacks x, evidence sure of it
        _p({A: 0.05, B: 0.05, C: 0.9}, {"x": 0.1, "y": 0.9}),  # backed
    ]
    doubt = label_issue_confidences(gold, evidence)
    assert all(d is not None and 0.0 <= d <= 1.0 for d in doubt), doubt
    assert sorted(range(5), key=lambda i: -doubt[i])[:2] == [2, 3], doubt  # type: ignore[operator]
    assert max(doubt[i] for i in (0, 1, 4)) < min(doubt[2], doubt[3])  # type: ignore[type-var]


def test_votes_are_read_as_frequencies_and_no_evidence_gives_none() -> None:
    """An LLM's samples or an ensemble's folds: the share of answers naming each code. A record predicted without
    votes has no confidence, and its neighbours' scores do not depend on it."""
    gold = [(A, ["x"]), (B, ["x"]), (A, ["x"])]
    votes = [
        {"principal": [A, A, A], "other": [["x"], ["x"], ["x"]]},
        {"principal": [A, A, B], "other": [["x"], ["x"], ["x"]]},  # two of three answers deny B
        None,
    ]
    doubt = label_issue_confidences(gold, votes)
    assert doubt[2] is None and doubt[1] > doubt[0], doubt  # type: ignore[operator]
    assert label_issue_confidences(gold[:2], votes[:2]) == doubt[:2]
    assert label_issue_confidences([(A, [])], [{}]) == [None]
    assert label_issue_confidences([], []) == []
