"""The style normaliser: exact outputs for each aspect of a style, and one date format per record."""

from __future__ import annotations

import random

import pytest

from pipeline.augment.number_style import (
    DATE_STYLES,
    NumberStyle,
    choose_style,
    date_styles,
    record_date_style,
    restyle,
    restyle_text,
)
from pipeline.domain.facts import section_facts

FIXED = frozenset({"入院诊断"})
GLUCOSE = "餐后1小时血糖8.1mmol/L，2小时9.2mmol/L，3h 7.0mmol/L。"


@pytest.mark.parametrize(
    ("text", "style", "dates", "expected"),
    [
        # one numeral style for every count of a sentence, never "一小时…两小时…3h"
        (
            GLUCOSE,
            NumberStyle(numerals="chinese"),
            None,
            "餐后一小时血糖8.1mmol/L，两小时9.2mmol/L，三小时 7.0mmol/L。",
        ),
        (
            "餐后一小时血糖8.1mmol/L，两小时9.2mmol/L，3h 7.0mmol/L。",
            NumberStyle(numerals="arabic"),
            None,
            "餐后1小时血糖8.1mmol/L，2小时9.2mmol/L，3小时 7.0mmol/L。",
        ),
        # "2h9.2mmol/L" would glue a Latin unit to the next number: the sentence keeps its units
        (GLUCOSE, NumberStyle(numerals="latin"), None, GLUCOSE),
        ("休息1小时，2小时后复查。", NumberStyle(numerals="latin"), None, "休息1h，2h后复查。"),
        ("心率80次/分，呼吸20次/分钟。", NumberStyle(numerals="latin"), None, "心率80次/min，呼吸20次/min。"),
        ("心率80次/min，呼吸20次/分钟。", NumberStyle(numerals="arabic"), None, "心率80次/分，呼吸20次/分。"),
        ("每日1次，每次2片。", NumberStyle(numerals="chinese"), None, "每日一次，每次两片。"),
        # "三天…12天" would mix: a sentence with a count that has no Chinese numeral keeps Arabic ones
        ("休息3天，12天后复查。", NumberStyle(numerals="chinese"), None, "休息3天，12天后复查。"),
        ("休息3天。12天后复查。", NumberStyle(numerals="chinese"), None, "休息三天。12天后复查。"),
        (
            "一次性使用，甲功五项正常，半小时后缓解。",
            NumberStyle(numerals="arabic"),
            None,
            "一次性使用，甲功五项正常，半小时后缓解。",
        ),
        # names, fractions and ordinals keep their numerals; "1月" has no Chinese numeral (一月 is January)
        ("每日1次，每次1片辅酶Q10片。", NumberStyle(numerals="chinese"), None, "每日一次，每次一片辅酶Q10片。"),
        (
            "每次四分之一片，1月后行二次PCI治疗。",
            NumberStyle(numerals="arabic"),
            None,
            "每次四分之一片，1月后行二次PCI治疗。",
        ),
        ("心悸1年余，加重1月。", NumberStyle(numerals="chinese"), None, "心悸1年余，加重1月。"),
        ("24小时动态心电图", NumberStyle(numerals="latin"), None, "24h动态心电图"),
        ("24小时Holter", NumberStyle(numerals="latin"), None, "24小时Holter"),
        ("胸痛3-4周，加重2~3天余。", NumberStyle(ranges="至", more="多"), None, "胸痛3至4周，加重2至3天余。"),
        ("胸闷10余年，加重20多天。", NumberStyle(more="余"), None, "胸闷10余年，加重20余天。"),
        (
            "3天前，3月2日出院，第3天复查，3天期间。",
            NumberStyle(days="日"),
            None,
            "3日前，3月2日出院，第3日复查，3天期间。",
        ),
        (
            "血压200/110mmHg，肌酐85 umol/L，尿量1500ml，体温36.5℃。",
            NumberStyle(spacing="spaced", micro="μ", millilitre="mL", celsius="°C"),
            None,
            "血压200/110 mmHg，肌酐85 μmol/L，尿量1500 mL，体温36.5°C。",
        ),
        ("血压200/110 mmHg，阿司匹林100 mg。", NumberStyle(spacing="tight"), None, "血压200/110mmHg，阿司匹林100mg。"),
        ("于2023-06-30 8:30入院，9：10查房。", NumberStyle(colon="："), "cn", "于2023年6月30日 8：30入院，9：10查房。"),
        ("2023年6月30日入院，2023年7月出院。", NumberStyle(), "iso", "2023-06-30入院，2023-07出院。"),
        ("2023年6月30日入院。", NumberStyle(), "slash", "2023/6/30入院。"),
        ("2023年6月30日.", NumberStyle(), "iso", "2023年6月30日."),
        (
            "未改动的文字，无数字。",
            NumberStyle(numerals="chinese", days="日", spacing="spaced"),
            "iso",
            "未改动的文字，无数字。",
        ),
    ],
)
def test_restyle_text(text: str, style: NumberStyle, dates: str | None, expected: str) -> None:
    out = restyle_text(text, style, dates)
    assert out == expected
    assert section_facts("现病史", out) == section_facts("现病史", text)


def test_a_record_gets_one_date_format() -> None:
    record = {
        "现病史": "2023年6月1日起病，2023-06-03加重，2023/6/5来诊。",
        "入院诊断": "1.冠心病",
        "诊疗经过": "2023.06.07复查。",
    }
    expected = {
        "iso": "2023-06-01起病，2023-06-03加重，2023-06-05来诊。",
        "slash": "2023/6/1起病，2023/6/3加重，2023/6/5来诊。",
        "cn": "2023年6月1日起病，2023年6月3日加重，2023年6月5日来诊。",
    }
    for first in DATE_STYLES:
        preference = (first, *(s for s in DATE_STYLES if s != first))
        # a record written in several formats is put in one even when the style does not ask for it
        out = restyle(record, NumberStyle(dates=preference), FIXED)
        assert out["现病史"] == expected[first]
        assert out["入院诊断"] == "1.冠心病"
        assert date_styles(out["诊疗经过"]) == {first}
        assert len(date_styles("".join(out.values()))) == 1


def test_the_date_format_is_one_that_every_date_can_take() -> None:
    # "6月3日" has no year: only the Chinese format writes it
    mixed = {"现病史": "2023年6月1日起病，6月3日加重，2023-06-05来诊。", "入院诊断": ""}
    out = restyle(mixed, NumberStyle(dates=("iso", "slash", "cn")), FIXED)
    assert out["现病史"] == "2023年6月1日起病，6月3日加重，2023年6月5日来诊。"
    # a year and month is not written "2023/6"
    year_month = {"现病史": "2023年6月起病，2023-06-05来诊。", "入院诊断": ""}
    assert (
        restyle(year_month, NumberStyle(dates=("slash", "iso", "cn")), FIXED)["现病史"]
        == "2023-06起病，2023-06-05来诊。"
    )
    # a date in 入院诊断 is left as it is, so the rest follows it
    fixed = {"现病史": "2023-06-01起病。", "入院诊断": "3.陈旧性心肌梗死（2023年6月）"}
    out = restyle(fixed, NumberStyle(dates=("iso", "slash", "cn"), restyle_dates=True), FIXED)
    assert out == {"现病史": "2023年6月1日起病。", "入院诊断": "3.陈旧性心肌梗死（2023年6月）"}
    # "2022-04-01日" would read "2022年4月1日日" in Chinese: it stays, and the other dates follow it
    marked = {"现病史": "2022-04-01日入院，2022年4月3日出院。"}
    out = restyle(marked, NumberStyle(dates=("cn", "slash", "iso")), frozenset())
    assert out == {"现病史": "2022-04-01日入院，2022-04-03出院。"}
    # one format already: dates change only when the style says so
    single = {"现病史": "2023-06-01起病。"}
    assert restyle(single, NumberStyle(dates=("slash", "iso", "cn")), frozenset()) == single
    restyled = restyle(single, NumberStyle(dates=("slash", "iso", "cn"), restyle_dates=True), frozenset())
    assert restyled == {"现病史": "2023/6/1起病。"}
    assert record_date_style({"现病史": "无日期。"}, NumberStyle(restyle_dates=True), frozenset()) is None


def test_choose_style_is_seeded_and_leaves_aspects_alone_with_p_zero() -> None:
    assert choose_style(random.Random(3), 0.5) == choose_style(random.Random(3), 0.5)
    none = choose_style(random.Random(3), 0.0)
    assert none == NumberStyle(dates=none.dates)
    assert sorted(none.dates) == sorted(DATE_STYLES)
    every = choose_style(random.Random(3), 1.0)
    assert every.restyle_dates and every.numerals and every.days and every.spacing and every.ranges
