"""The table of what a rewrite may write, and the synonym table keeping to it."""

from __future__ import annotations

import pytest

from pipeline.domain.style_rules import ALLOWED_ABBREVIATIONS, FORBIDDEN, introduced, swaps_type_for_nature
from pipeline.domain.synonyms import ONE_WAY, SYNONYM_GROUPS, alternatives, canonical, known


def _written() -> set[str]:
    """Every form that a synonym swap can write."""
    return {a for form in [*(f for g in SYNONYM_GROUPS for f in g), *ONE_WAY] for a in alternatives(form)}


def test_no_synonym_swap_writes_a_forbidden_term() -> None:
    written = _written()
    assert not written & set(FORBIDDEN)
    for term in ("不稳定性心绞痛", "抽烟", "EKG", "ECG", "心慌", "脑溢血", "病人"):
        assert term not in written


def test_a_forbidden_term_that_records_contain_is_corrected_to_the_right_one() -> None:
    for term, (right, why) in FORBIDDEN.items():
        assert why
        if known(term):
            assert alternatives(term) == (ONE_WAY[term],), term
            assert canonical(term) == canonical(right), term


def test_no_swap_exchanges_type_for_nature() -> None:
    for group in SYNONYM_GROUPS:
        for a in group:
            for b in group:
                assert not swaps_type_for_nature(a, b), (a, b)


def test_latin_forms_written_are_allowed_abbreviations() -> None:
    latin = {f for f in _written() if any(c.isascii() and c.isalpha() for c in f)}
    # Latin inside a Chinese term (肌钙蛋白I, N末端B型钠尿肽前体) is part of its name, not an abbreviation
    abbreviations = {f for f in latin if sum(c.isascii() for c in f) * 2 >= len(f)}
    assert abbreviations, "the table writes no Latin abbreviation at all"
    assert abbreviations <= set(ALLOWED_ABBREVIATIONS), abbreviations - set(ALLOWED_ABBREVIATIONS)
    for short, full in ALLOWED_ABBREVIATIONS.items():
        if known(short) and known(full):
            assert canonical(short) == canonical(full), short


@pytest.mark.parametrize(
    ("a", "b", "swapped"),
    [
        ("不稳定型心绞痛", "不稳定性心绞痛", True),
        ("微血管性心绞痛", "微血管型心绞痛", True),
        ("冠状动脉粥样硬化性心脏病", "冠状动脉粥样硬化型心脏病", True),
        ("不稳定型心绞痛", "不稳定型心绞痛", False),
        ("2型糖尿病", "II型糖尿病", False),
        ("型", "性别", False),
    ],
)
def test_swaps_type_for_nature(a: str, b: str, swapped: bool) -> None:
    assert swaps_type_for_nature(a, b) is swapped


def test_introduced_counts_only_new_occurrences() -> None:
    assert introduced("否认抽烟史。", "否认抽烟史。") == []
    assert introduced("否认吸烟史。", "否认抽烟史。") == ["抽烟"]
    assert introduced("不稳定型心绞痛", "不稳定性心绞痛，EKG正常") == ["不稳定性心绞痛", "EKG"]
    assert introduced("抽烟10年，抽烟20支/日", "吸烟10年，抽烟20支/日") == []
