from __future__ import annotations

import pytest

from pipeline.domain.label_space import all_codes
from pipeline.domain.parsers import (
    Parsed,
    answer_items,
    answer_text,
    is_well_formed,
    items_to_codes,
    parse_submission,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[I20.000|I25.103;E78.500]", Parsed("I20.000", ("I25.103", "E78.500"))),
        ("【I20.000｜I25.103；E78.500】", Parsed("I20.000", ("I25.103", "E78.500"))),
        (" [ I20.000 | I25.103 ; E78.500 ; ] ", Parsed("I20.000", ("I25.103", "E78.500"))),
        ("预测如下：[i10.X00X032|E11.900]。", Parsed("I10.x00x032", ("E11.900",))),
        ("I20.000|E78.500", Parsed("I20.000", ("E78.500",))),  # brackets missing
        ("[I20.000|]", Parsed("I20.000", ())),
        ("[|E78.500]", Parsed(None, ("E78.500",))),
        ("first [draft|x] then [I21.401|I25.103]", Parsed("I21.401", ("I25.103",))),
        ("[I20.000|I20.000;E78.500]", Parsed("I20.000", ("E78.500",))),  # principal not repeated
        ("no prediction here", None),
    ],
)
def test_parse_submission(text: str, expected: Parsed | None) -> None:
    assert parse_submission(text) == expected


def test_answer_text_takes_last_block_and_tolerates_unclosed() -> None:
    assert answer_text("<think>a</think><answer>不稳定型心绞痛</answer>") == "不稳定型心绞痛"
    assert answer_text("<answer>x</answer> later <answer> y ") == "y"
    assert answer_text("＜answer＞高脂血症＜/answer＞") == "高脂血症"
    assert answer_text("plain text") is None


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("<think>reason</think><answer>不稳定型心绞痛</answer>", True),
        ("<think>reason</think>\n\n<answer>不稳定型心绞痛</answer>\n", True),
        ("<think>reason</think><answer> </answer>", False),
        ("<answer>不稳定型心绞痛</answer>", False),
        ("<think>a</think><think>b</think><answer>x</answer>", False),
        ("stray <think>a</think><answer>x</answer>", False),
        ("<think>a</think><answer>x</answer><answer>y</answer>", False),
    ],
)
def test_is_well_formed(text: str, ok: bool) -> None:
    assert is_well_formed(text) is ok


def test_answer_items_and_names_to_codes() -> None:
    text = "<think>…</think><answer>1. 高脂血症；2、2型糖尿病\n- 冠状动脉粥样硬化性心脏病, I48.x01、未知病</answer>"
    items = answer_items(text)
    assert items == ["高脂血症", "2型糖尿病", "冠状动脉粥样硬化性心脏病", "I48.x01", "未知病"]
    names = {n: c for c, n in all_codes().items()}
    assert items_to_codes(items, names) == ["E78.500", "E11.900", "I25.103", "I48.x01"]


def test_names_match_with_half_width_brackets() -> None:
    names = {n: c for c, n in all_codes().items()}
    assert items_to_codes(["高血压病3级(极高危)"], names) == ["I10.x00x032"]
