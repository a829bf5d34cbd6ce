"""A round's typed results: rows stored before the types (schema 0, a free dict per stage) read back, and what is
written reads back the same."""

from __future__ import annotations

import pytest

from pipeline.rounds.results import (
    SCHEMA_VERSION,
    Augmented,
    Filtered,
    Generated,
    Identified,
    RoundResults,
    Trained,
    stage_result,
)

#: A round as the app stored it before the typed results (taken from a demo database of that time).
SCHEMA_0 = {
    "identifying": {
        "run_id": 1,
        "score": 91.5,
        "principal_accuracy": 1.0,
        "other_f1": 0.83,
        "badcases": 14,
        "model": "baseline",
        "metric": "f1",
        "models": ["baseline"],
        "mining": "kfold",
        "measured": "out-of-fold",
        "seconds": None,
    },
    "generating": {"generated": 280, "failed": 0, "seconds": 12.5, "held_for_label_issues": 1, "models": ["rules"]},
    "filtering": {"funnel": [["generated", 280], ["label", 120]], "passed": 120, "label_models": ["baseline"]},
    "in_review": {"selected": 9, "approved_by": "experts", "expert_minutes_per_approved": 1.5},
    "augmenting": {"dataset": "train@r1", "records": 69, "added_variants": 9, "merged": 9},
    "training": {"score_after": 92.0, "fixed": 3, "still_wrong": 11, "models": ["baseline"], "lines": ["x"]},
}


def test_a_schema_0_row_reads_back_typed() -> None:
    r = RoundResults.from_json(SCHEMA_0)
    assert r.schema == 0
    assert r.identifying == Identified(
        run_id=1, score=91.5, principal_accuracy=1.0, other_f1=0.83, badcases=14, model="baseline", models=("baseline",)
    )
    assert r.generating == Generated(generated=280, failed=0, held_for_label_issues=1, models=("rules",), seconds=12.5)
    assert r.filtering is not None and r.filtering.funnel == (("generated", 280), ("label", 120))
    assert r.filtering.policy == "not recorded"  # never stored: said so, not invented
    assert r.augmenting == Augmented(dataset="train@r1", records=69, added_variants=9)  # "merged" was a copy
    assert r.training == Trained(score_after=92.0, fixed=3, still_wrong=11, models=("baseline",))  # "lines" dropped
    assert r.models() == {"mined": ["baseline"], "filtered": ["baseline"], "trained": ["baseline"]}


def test_what_is_written_reads_back_the_same() -> None:
    r = RoundResults.from_json(SCHEMA_0)
    stored = r.to_json()
    assert stored["schema"] == SCHEMA_VERSION
    assert RoundResults.from_json(stored) == RoundResults(**{**r.__dict__, "schema": SCHEMA_VERSION})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, Generated()),
        ({"held": 2, "generated": 5}, Generated(generated=5, held_for_label_issues=2)),  # the job's own key
        ({"round": 1, "lines": ["a"], "generated": 1}, Generated(generated=1)),
        ({"models": ["qwen"]}, Generated(models=("qwen",))),
    ],
)
def test_a_jobs_result_becomes_a_generated_stage(values: dict[str, object], expected: Generated) -> None:
    assert stage_result(Generated, values) == expected


def test_a_stage_is_replaced_not_merged_and_the_others_stay() -> None:
    r = RoundResults.from_json(SCHEMA_0).with_stage(Filtered(passed=3))
    assert r.filtering == Filtered(passed=3) and r.generating is not None and r.generating.generated == 280
    assert RoundResults().with_stage(Identified(badcases=2)).to_json() == {
        "schema": SCHEMA_VERSION,
        "identifying": Identified(badcases=2).__dict__,
    }
