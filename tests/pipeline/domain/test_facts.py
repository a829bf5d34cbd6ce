"""The clinical facts extractor: facts written by hand for real records (by index), normalisation of
equivalent writings, and detection of real changes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pipeline.domain.facts import (
    Fact,
    chinese_number,
    compare_facts,
    diagnosis_item,
    extract_facts,
    section_facts,
    split_diagnoses,
)
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ccl25_train_206.json"


@pytest.fixture(scope="module")
def records() -> list[dict[str, str]]:
    if not DATA.is_file():
        pytest.fail(f"the real data is missing: expected {DATA}")
    return json.loads(DATA.read_text(encoding="utf-8"))


def kind(record: dict[str, str], section: str, k: str) -> Counter[str]:
    """The values of one kind of fact in one section, as a multiset."""
    return Counter(f.value for f in section_facts(section, record[section]) if f.kind == k)


def neg(*items: str) -> Counter[str]:
    return Counter("否认" + i for i in items)


# ---------------------------------------------------------------------------------------------------
# Real records: the expected facts below were read off the record texts by hand.
# ---------------------------------------------------------------------------------------------------


def test_record_0(records: list[dict[str, str]]) -> None:
    r = records[0]
    # 入院情况: complaint duration, the history repeated, then the vital signs (pulse and respiration
    # written "次/min", the heart rate "次/分") and a scar mentioned twice.
    assert kind(r, "入院情况", "number") == Counter(
        ["0.5年余", "7年余", "200mmHg", "3年", "6年", "3cm", "3cm", "69次/分", "20次/分", "138/77mmHg", "69次/分"]
    )
    assert kind(r, "既往史", "negation") == neg(
        "脑梗死", "糖尿病", "结核", "其他传染病", "其它重大手术", "外伤", "输血", "食物过敏"
    )
    assert kind(r, "入院诊断", "diagnosis") == Counter(
        ["冠状动脉粥样硬化性心脏病不稳定型心绞痛", "高血压病3级极高危", "高脂血症", "甲状腺术后"]
    )
    assert kind(r, "诊疗经过", "laterality") == Counter(
        [
            "双肺",
            "双肺",
            "双下肢",
            "右下肢",
            "右股总静脉",
            "双颈动脉",
            "双颈动脉",
            "左侧",
            "左主干",
            "左前降支",
            "左回旋支",
            "右冠状动脉",
        ]
    )
    assert kind(r, "诊疗经过", "number") == Counter(
        [
            "6.9%",
            "2.16mmol/L",
            "2.9mg/L",
            "0.15μIU/mL",
            "2小时",
            "12.37mmol/L",
            "3小时",
            "10.85mmol/L",
            "2024-10-21",
            "LVEF 70%",
        ]
    )


def test_record_1(records: list[dict[str, str]]) -> None:
    r = records[1]
    assert kind(r, "既往史", "number") == Counter(["10年", "190mmHg", "110/70mmHg"])
    assert kind(r, "既往史", "negation") == neg(
        "糖尿病", "脑梗死", "肝炎", "结核", "疫区接触", "输血", "药物", "食物过敏"
    )
    assert kind(r, "个人史", "negation") == neg(
        "外地久居", "疫区旅居", "相关人员密切接触", "工业粉尘", "毒物", "反射性物质接触", "吸烟", "饮酒", "冶游"
    )
    assert kind(r, "现病史", "number") == Counter(
        [
            "10年",
            "400-500米",
            "6月",
            "1-2分钟",
            "2023-06-30",
            "5年",
            "5小时",
            "2023-06-26",
            "2023-08-22",
            "9月",
            "2小时",
            "2023-12-03",
            "40-50次/分",
            "80-90%",
            "2天",
            "3.44mmol/L",
        ]
    )
    # nine numbered items; 心功能不全 is read as 心力衰竭, III as 3, 微血管型 as 微血管性, 很高危 as 极高危
    assert kind(r, "入院诊断", "diagnosis") == Counter(
        [
            "慢性心力衰竭急性加重心功能3级",
            "心律失常心房扑动心房颤动射频消融术后",
            "微血管性心绞痛",
            "高血压病3级极高危",
            "2型糖尿病",
            "高脂血症",
            "高尿酸血症",
            "脂肪肝",
            "肺气肿",
        ]
    )
    # laboratory times glued to their dates ("2024-03-0309：05")
    times = kind(r, "诊疗经过", "number")
    assert times["2024-03-03"] == 6
    assert {"9:05", "9:34", "10:04", "11:06", "12:02", "12:45", "21.2pg/mL", "<0.012ng/mL"} <= set(times)


def test_record_8(records: list[dict[str, str]]) -> None:
    r = records[8]
    # "14余年前" is 14年余; the second heart rate is written with a full-width slash
    assert kind(r, "入院情况", "number") == Counter(
        ["3年", "2周", "1年余", "170/100mmHg", "14年余", "97次/分", "20次/分", "151/92mmHg", "97次/分"]
    )
    assert kind(r, "入院诊断", "diagnosis") == Counter(
        ["慢性心力衰竭急性加重心功能4级", "高血压病2级极高危高血压性心脏病"]
    )
    numbers = kind(r, "诊疗经过", "number")
    assert {"10.3×10^9/L", "0.76×10^9/L", "421×10^9/L", "428μmol/L", "LVEF 36%", "2024-10-28"} <= set(numbers)
    assert {"LVEF 38%", "112次/分", "15kg", "2024-10-18"} <= set(kind(r, "现病史", "number"))


def test_record_21(records: list[dict[str, str]]) -> None:
    r = records[21]
    # Killip notation, 房颤 → 心房颤动, 陈旧性脑梗 → 陈旧性脑梗死
    assert kind(r, "入院诊断", "diagnosis") == Counter(
        [
            "冠状动脉粥样硬化性心脏病急性非ST段抬高型心肌梗死Killip3级",
            "高血压病2级极高危",
            "肺部感染",
            "心律失常持续性心房颤动",
            "2型糖尿病",
            "高脂血症",
            "陈旧性脑梗死",
            "右侧髋关节置换术后",
            "左股骨骨折",
        ]
    )
    assert kind(r, "入院诊断", "laterality") == Counter(["右髋关节", "左股骨"])
    assert kind(r, "既往史", "laterality") == Counter(["右髋关节"])
    assert kind(r, "既往史", "number") == Counter(["10年余", "10年余", "5年余", "1月", "2年"])
    assert kind(r, "个人史", "negation") == neg(
        "外地久居", "疫区旅居", "相关人员接触", "工业粉尘", "毒物", "放射性物质接触", "吸烟", "饮酒", "冶游"
    )
    assert {"6月3日", "5天", "980.48pg/mL", "2250pg/mL", "0.092ng/mL"} <= set(kind(r, "现病史", "number"))


def test_a_record_compared_with_itself_has_no_changes(records: list[dict[str, str]]) -> None:
    for r in records[:20]:
        assert compare_facts(r, dict(r)) == ([], [])
        assert sum(extract_facts(r).values()) > 20


def test_only_text_sections_count_and_diagnoses_only_come_from_the_diagnosis_list(
    records: list[dict[str, str]],
) -> None:
    r = records[0]
    with_labels = extract_facts(r)
    without = extract_facts({k: v for k, v in r.items() if k not in (ID_KEY, MAIN_KEY, OTHER_KEY)})
    assert with_labels == without
    assert not any(f.kind == "diagnosis" for f in section_facts("现病史", "1.冠心病2.高血压病"))
    assert extract_facts({"入院诊断": "1.冠心病2.高血压病"})[Fact("diagnosis", "高血压病")] == 1


# ---------------------------------------------------------------------------------------------------
# Equivalent writings compare equal (and are not vacuous: each has facts)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("收缩压最高200mmHg", "收缩压最高200 mmHg"),
        ("收缩压最高200mmHg", "收缩压最高２００ｍｍＨｇ"),
        ("血压180/110mmHg", "血压180/110 mmHg"),
        ("肌酐85umol/L", "肌酐85μmol/L"),
        ("肌酐85µmol/L", "肌酐85μmol/L"),
        ("发热3天", "发热3日"),
        ("发热3天", "发热三天"),
        ("每次0.5g", "每次０．５g"),
        ("每次0.50g", "每次0.5g"),
        ("每日1次，每次1片", "每日一次，每次一片"),
        ("每日2次", "每日两次"),
        ("心率80次/分", "心率80次/min"),
        ("心率80次/分", "心率80bpm"),
        ("3-4周后复查", "3～4周后复查"),
        ("3-4周后复查", "3至4周后复查"),
        ("病史10余年", "病史十余年"),
        ("病史10余年", "病史10年余"),
        ("病史3年余", "病史三年余"),
        ("病史半年", "病史0.5年"),
        ("于2023-05-01入院", "于2023年5月1日入院"),
        ("于2023-05-01入院", "于2023/5/1入院"),
        ("2019年3月起病", "2019-03起病"),
        ("持续2小时", "持续2h"),
        ("持续5分钟", "持续5min"),
        ("2.1×10^9/L", "2.1×109/L"),
        ("EF：45%", "左室射血分数45%"),
        ("琥珀酸美托洛尔缓释片47.5mg", "琥珀酸美托洛尔缓释片 47.5 mg"),
        ("否认糖尿病", "无糖尿病史"),
        ("否认糖尿病史", "否认“糖尿病”病史"),
        ("否认高血压、糖尿病病史", "否认糖尿病、高血压病史"),
        ("否认冠心病", "否认冠状动脉粥样硬化性心脏病"),
        ("无胸痛、胸闷及肩背部放射痛", "无肩背部放射痛、胸闷及胸痛"),
        ("无头痛，无恶心、呕吐", "无呕吐、恶心，无头痛"),
        ("双下肢无水肿", "两下肢无浮肿"),
        ("右侧下肢", "右下肢"),
        ("左室扩大", "左心室扩大"),
        ("LAD近段狭窄", "左前降支近段狭窄"),
    ],
)
def test_equivalent_writings_compare_equal(a: str, b: str) -> None:
    fa, fb = extract_facts({"现病史": a}), extract_facts({"现病史": b})
    assert fa, a
    assert fa == fb
    assert compare_facts({"现病史": a}, {"现病史": b}) == ([], [])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.冠心病2.高血压病3级（很高危）", "1.冠状动脉粥样硬化性心脏病2.高血压3级极高危"),
        ("1.高血压病（3级，很高危）", "1.高血压病3级（极高危）"),
        ("1.心力衰竭心功能Ⅱ级", "1.心力衰竭心功能II级"),
        ("1.心力衰竭心功能II级", "1.心力衰竭心功能2级"),
        ("1.心力衰竭心功能2级", "1.心力衰竭心功能二级"),
        ("1.心力衰竭心功能III级（NYHA分级）", "1.心衰NYHA心功能3级"),
        ("1.急性非ST段抬高型心肌梗死心功能II级（Killip分级）", "1.NSTEMI KillipII级"),
        ("1.心律失常阵发性房颤2.2型糖尿病", "1.心律失常阵发性心房颤动2.II型糖尿病"),
        ("1、冠心病\n2、高脂血症", "1.冠心病2.高脂血症"),
    ],
)
def test_equivalent_diagnoses_compare_equal(a: str, b: str) -> None:
    assert compare_facts({"入院诊断": a}, {"入院诊断": b}) == ([], [])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一", "1"),
        ("两", "2"),
        ("十", "10"),
        ("十二", "12"),
        ("二十", "20"),
        ("三十五", "35"),
        ("一百二十", "120"),
        ("半", "0.5"),
        ("一二", None),
        ("百", None),
    ],
)
def test_chinese_numerals(text: str, value: str | None) -> None:
    assert chinese_number(text) == value


def test_split_diagnoses_follows_the_numbering() -> None:
    # "4.2型糖尿病": the 2 after "4." belongs to the item, not to the numbering
    assert split_diagnoses("1.冠心病2.高血压病3级3.高脂血症4.2型糖尿病5.肺炎") == [
        "冠心病",
        "高血压病3级",
        "高脂血症",
        "2型糖尿病",
        "肺炎",
    ]
    assert split_diagnoses("高血压病（3级，很高危）") == ["高血压病（3级，很高危）"]
    assert split_diagnoses("") == []
    assert diagnosis_item("心功能III级（Killip分级）") == "Killip3级"
    assert diagnosis_item("KillipIII级") == "Killip3级"
    assert diagnosis_item("心功能III级（NYHA分级）") == "心功能3级"


# ---------------------------------------------------------------------------------------------------
# Real changes are caught
# ---------------------------------------------------------------------------------------------------


def test_a_changed_number_is_one_dropped_and_one_invented() -> None:
    dropped, invented = compare_facts({"既往史": "收缩压最高200mmHg。"}, {"既往史": "收缩压最高180mmHg。"})
    assert dropped == [Fact("number", "200mmHg")]
    assert invented == [Fact("number", "180mmHg")]


def test_a_dropped_or_changed_number_in_a_dose_or_date() -> None:
    a = {"出院医嘱": "琥珀酸美托洛尔缓释片47.5mg，每日1次。", "现病史": "于2023-05-01入院。"}
    b = {"出院医嘱": "琥珀酸美托洛尔缓释片，每日1次。", "现病史": "于2023-05-02入院。"}
    assert compare_facts(a, b) == (
        [Fact("number", "2023-05-01"), Fact("number", "47.5mg")],
        [Fact("number", "2023-05-02")],
    )


def test_a_removed_negation_is_dropped() -> None:
    assert compare_facts({"既往史": "否认糖尿病史。"}, {"既往史": "有糖尿病史。"}) == (
        [Fact("negation", "否认糖尿病")],
        [],
    )
    assert compare_facts({"现病史": "无胸痛、胸闷。"}, {"现病史": "有胸痛，无胸闷。"}) == (
        [Fact("negation", "否认胸痛")],
        [],
    )


def test_left_turned_into_right_is_a_laterality_change() -> None:
    assert compare_facts({"入院情况": "右下肢水肿。"}, {"入院情况": "左下肢水肿。"}) == (
        [Fact("laterality", "右下肢")],
        [Fact("laterality", "左下肢")],
    )
    assert compare_facts({"诊疗经过": "左前降支狭窄90%。"}, {"诊疗经过": "回旋支狭窄90%。"})[0] == [
        Fact("laterality", "左前降支")
    ]


def test_a_dropped_or_changed_diagnosis_is_caught() -> None:
    a = {"入院诊断": "1.冠心病不稳定型心绞痛2.高血压病3级（很高危）3.2型糖尿病"}
    assert compare_facts(a, {"入院诊断": "1.冠心病不稳定型心绞痛2.高血压病3级（很高危）"}) == (
        [Fact("diagnosis", "2型糖尿病")],
        [],
    )
    dropped, invented = compare_facts(a, {"入院诊断": "1.冠心病不稳定型心绞痛2.高血压病2级（很高危）3.2型糖尿病"})
    assert dropped == [Fact("diagnosis", "高血压病3级极高危")]
    assert invented == [Fact("diagnosis", "高血压病2级极高危")]
    # a broader term is not a synonym
    assert compare_facts(a, {"入院诊断": "1.冠心病不稳定型心绞痛2.高血压病3级（很高危）3.糖尿病"})[0] == [
        Fact("diagnosis", "2型糖尿病")
    ]
    # NYHA and Killip grades are different facts
    assert compare_facts({"入院诊断": "1.心功能II级（NYHA分级）"}, {"入院诊断": "1.KillipII级"}) == (
        [Fact("diagnosis", "心功能2级")],
        [Fact("diagnosis", "Killip2级")],
    )


def test_facts_are_ordered_frozen_values() -> None:
    a, b = Fact("number", "200mmHg"), Fact("laterality", "左侧")
    assert sorted([a, b]) == [b, a]
    with pytest.raises(AttributeError):
        a.value = "x"  # type: ignore[misc]
