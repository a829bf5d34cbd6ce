from __future__ import annotations

import pytest

from pipeline.domain.metric import record_score, score, set_f1
from pipeline.domain.parsers import submitted_labels
from pipeline.errors import InputError


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


# Both published formulas, per record: (gold, submitted 预测结果, f1, recall). The submission is read as
# submitted (pipeline.domain.parsers.submitted_labels): nothing is cleaned.
A = ("I20.000", {"I25.103", "E78.500"})
SUBMITTED_TABLE = [
    ("exact", A, "[I20.000|I25.103;E78.500]", 1.0, 1.0),
    # The principal repeated among the other codes stays there: one extra code for F1, none missed for recall.
    ("principal repeated", A, "[I20.000|I20.000;I25.103;E78.500]", 0.5 + 0.5 * 0.8, 1.0),
    ("duplicate counts once", A, "[I20.000|I25.103;I25.103；E78.500]", 1.0, 1.0),
    ("separators and spaces", A, "[I20.000| I25.103 ， E78.500]", 1.0, 1.0),
    ("one of two", A, "[I20.000|I25.103]", 0.5 + 0.5 * (2 / 3), 0.75),
    ("unknown code", A, "[I20.000|I25.103;Z99.999]", 0.5 + 0.5 * 0.5, 0.75),
    ("wrong principal", A, "[I21.401|I25.103;E78.500]", 0.5, 0.5),
    ("empty others", A, "[I20.000|]", 0.5, 0.5),
    ("both empty", ("I20.000", set()), "[I20.000|]", 1.0, 1.0),
    ("gold empty, codes predicted", ("I20.000", set()), "[I20.000|I25.103]", 0.5, 1.0),
    ("not normalised", A, "[i20.000|i25.103;E78.500]", 0.5 * 0.5, 0.5 * 0.5),
]


@pytest.mark.parametrize(
    ("case", "gold", "submitted", "f1", "recall"), SUBMITTED_TABLE, ids=[r[0] for r in SUBMITTED_TABLE]
)
def test_both_formulas_on_submissions_as_submitted(
    case: str, gold: tuple[str, set[str]], submitted: str, f1: float, recall: float
) -> None:
    parsed = submitted_labels(submitted)
    assert parsed is not None
    pred = (parsed.main, parsed.others)
    assert record_score(gold, pred, "f1") == pytest.approx(f1)
    assert record_score(gold, pred, "recall") == pytest.approx(recall)


def test_the_issues_example_and_a_missing_record() -> None:
    """gold {A: I20.000|I25.103;E78.500, B: I21.401|I25.103}; predictions repeat the principal among the others."""
    gold = {"A": ("I20.000", ["I25.103", "E78.500"]), "B": ("I21.401", ["I25.103"])}
    subs = {"A": "[I20.000|I20.000;I25.103;E78.500]", "B": "[I21.401|I21.401;I25.103]"}
    pred = {k: (p.main, p.others) for k, v in subs.items() if (p := submitted_labels(v)) is not None}
    assert round(score(gold, pred, "f1").score, 2) == 86.67
    assert round(score(gold, pred, "recall").score, 2) == 100.00
    missing = score(gold, {"A": pred["A"]}, "recall")
    assert (round(missing.score, 2), missing.n_missing) == (50.0, 1)
    assert score(gold, pred).lines()[0] == "score  86.67  (f1)"
    with pytest.raises(InputError, match="metric 'accuracy' is not one of f1, recall"):
        score(gold, pred, "accuracy")
