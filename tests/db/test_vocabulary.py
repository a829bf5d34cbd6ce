"""The vocabularies the database stores: distinct values, and the CHECK SQL built from them."""

from __future__ import annotations

import pytest

from db import vocabulary


def test_each_vocabulary_lists_distinct_words() -> None:
    tuples = {k: v for k, v in vars(vocabulary).items() if k.isupper() and isinstance(v, tuple)}
    assert len(tuples) >= 15
    assert {k: v for k, v in tuples.items() if len(set(v)) != len(v) or not all(isinstance(w, str) for w in v)} == {}


def test_a_round_s_statuses_are_its_stages_then_done_and_abandoned() -> None:
    assert vocabulary.ROUND_STATUSES == (*vocabulary.ROUND_STAGES, "done", "abandoned")
    assert vocabulary.JOB_STATUSES[: len(vocabulary.JOB_ACTIVE_STATUSES)] == vocabulary.JOB_ACTIVE_STATUSES


def test_one_of_builds_the_check_and_refuses_a_quote() -> None:
    assert vocabulary.one_of("lane", ("cpu", "gpu")) == "lane IN ('cpu', 'gpu')"
    assert vocabulary.one_of("stage", ("a",), nullable=True) == "stage IS NULL OR stage IN ('a')"
    with pytest.raises(ValueError, match="quote"):
        vocabulary.one_of("x", ("it's",))
