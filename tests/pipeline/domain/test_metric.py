from __future__ import annotations

import pytest

from pipeline.domain.metric import record_score, score, set_f1


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ({"A"}, {"A"}, 1.0),
        (set(), set(), 1.0),  # two empty sets agree
        ({"A"}, set(), 0.0),
        (set(), {"A"}, 0.0),
        ({"A", "B"}, {"A"}, 2 * 1 / 3),
        ({"A", "B", "C", "D"}, {"A", "B", "E"}, 2 * 2 / 7),
        ({"A"}, {"B"}, 0.0),
    ],
)
def test_set_f1(gold: set[str], pred: set[str], expected: float) -> None:
    assert set_f1(gold, pred) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        (("I20.000", ["E78.500"]), ("I20.000", ["E78.500"]), 1.0),
        (("I20.000", ["E78.500"]), ("I21.401", ["E78.500"]), 0.5),
        (("I20.000", ["E78.500", "I25.103"]), ("I20.000", ["E78.500"]), 0.5 + 0.5 * 2 / 3),
        (("I20.000", ["E78.500"]), ("I20.000", []), 0.5),
        (("I20.000", ["E78.500"]), (None, ["E78.500"]), 0.5),
        (("I20.000", ["E78.500"]), None, 0.0),  # missing prediction
    ],
)
def test_record_score(gold, pred, expected) -> None:  # type: ignore[no-untyped-def]
    assert record_score(gold, pred) == pytest.approx(expected)


def test_score_means_over_gold_and_counts_missing_as_zero() -> None:
    gold = {"a": ("I20.000", ["E78.500"]), "b": ("I21.401", ["I25.103", "E11.900"]), "c": ("I20.000", ["E78.500"])}
    pred = {"a": ("I20.000", ["E78.500"]), "b": ("I21.401", ["I25.103"]), "zzz": ("I20.000", [])}
    report = score(gold, pred)
    # a: 1.0; b: 0.5 + 0.5 * 2/3; c: missing → 0
    assert report.score == pytest.approx(100 * (1.0 + 0.5 + 0.5 * 2 / 3) / 3)
    assert report.principal_accuracy == pytest.approx(2 / 3)
    assert report.other_f1 == pytest.approx((1 + 2 / 3) / 3)
    assert report.n_missing == 1
    assert report.extra_ids == ["zzz"]
