"""The Review page's diff: exact marks for small rewrites, the same marks when a huge section is narrowed
first, a coarse diff past the size cap, and record text always escaped."""

from __future__ import annotations

import pytest

from app.textdiff import CHAR_CAP, diff_chunks, diff_html, diff_text

DEL = '<del style="background:#fde2e1;text-decoration:line-through">{}</del>'
INS = '<ins style="background:#d8f5d0;text-decoration:none">{}</ins>'


@pytest.mark.parametrize(
    ("original", "variant", "expected"),
    [
        ("胸痛三天", "胸痛三天", "胸痛三天"),
        ("胸痛三天", "胸闷三天", "胸[-痛-]{+闷+}三天"),
        ("", "新增", "{+新增+}"),
        ("删除", "", "[-删除-]"),
        ("患者胸痛", "患者胸痛，伴气促", "患者胸痛{+，伴气促+}"),
        ("既往高血压。否认糖尿病。", "既往糖尿病。否认高血压。", "既往{+糖尿病。否认+}高血压[-。否认糖尿病-]。"),
        ("ab", "abab", "ab{+ab+}"),
        ("第一行\n第二行\n", "第一行\n第2行\n", "第一行\n第[-二-]{+2+}行\n"),
    ],
)
def test_small_rewrites_are_marked_character_by_character(original: str, variant: str, expected: str) -> None:
    assert diff_text(original, variant) == expected


def test_html_marks_deletions_left_and_insertions_right_with_record_text_escaped() -> None:
    left, right = diff_html("患者<b>胸痛</b>", "患者<i>胸痛</i>")
    assert left == f"患者&lt;{DEL.format('b')}&gt;胸痛&lt;/{DEL.format('b')}&gt;"
    assert right == f"患者&lt;{INS.format('i')}&gt;胸痛&lt;/{INS.format('i')}&gt;"


def _sentence(i: int) -> str:
    return f"第{i}日复查血常规，白细胞{i % 97}，予抗感染治疗。"


def test_a_huge_section_is_narrowed_and_still_marked_exactly() -> None:
    original = "".join(_sentence(i) for i in range(4100))
    assert len(original) > 100_000 and len(original) ** 2 > CHAR_CAP
    variant = original.replace(_sentence(10), _sentence(10).replace("抗感染", "抗病毒"))
    variant = variant.replace(_sentence(3000), "")
    variant = variant.replace(_sentence(4099), _sentence(4099) + "出院")
    expected = (
        "".join(_sentence(i) for i in range(10))
        + "第10日复查血常规，白细胞10，予抗[-感染-]{+病毒+}治疗。"
        + "".join(_sentence(i) for i in range(11, 3000))
        + f"[-{_sentence(3000)}-]"
        + "".join(_sentence(i) for i in range(3001, 4100))
        + "{+出院+}"
    )
    assert diff_text(original, variant) == expected


def test_past_the_cap_an_unbroken_rewrite_is_shown_whole() -> None:
    # No line, sentence or clause break to narrow on, and too long to compare character by character.
    original = "".join(chr(0x4E00 + i % 500) for i in range(2000))
    variant = "".join(chr(0x4E00 + (i * 7) % 500) for i in range(2000))
    assert len(original) * len(variant) > CHAR_CAP
    assert diff_chunks(original, variant) == [(True, original[0], variant[0]), (False, original[1:], variant[1:])]
