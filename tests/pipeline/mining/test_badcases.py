"""Label-error confidence: how strongly the model's evidence goes against a badcase's gold codes."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.mining.badcases import label_error_confidence

A, B = "I20.000", "I21.401"


@pytest.mark.parametrize(
    ("gold_others", "votes", "expected"),
    [
        # baseline probabilities: 1 − (0.5 × p(principal) + 0.5 × mean p(gold others))
        (["x", "y"], {"principal_p": {A: 0.8, B: 0.2}, "other_p": {"x": 0.9, "y": 0.5}}, 1 - (0.4 + 0.35)),
        ([], {"principal_p": {A: 0.8, B: 0.2}, "other_p": {"x": 0.9}}, 1 - (0.4 + 0.5)),  # no gold others
        (["x"], {"principal_p": {B: 1.0}, "other_p": {}}, 1.0),  # gold principal unknown to the model
        # votes (TCECP samples or ensemble folds): share of votes against the gold codes
        (["x"], {"principal": [A, A, B], "other": [["x"], [], ["x", "z"]]}, 2 / 6),
        ([], {"principal": [B, B], "other": [["x"], ["x"]]}, 1.0),
        (["x", "y"], {"principal": [A], "other": [["x", "y"]]}, 0.0),
        (["x"], None, None),
        (["x"], {}, None),
    ],
)
def test_label_error_confidence(gold_others: list[str], votes: dict[str, Any] | None, expected: float | None) -> None:
    got = label_error_confidence(A, gold_others, votes)
    assert got == (None if expected is None else pytest.approx(expected, abs=1e-4))
