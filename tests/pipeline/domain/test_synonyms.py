"""The synonym table: groups, canonical forms, longest match, word boundaries, what must stay apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.domain.label_space import all_codes
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.domain.synonyms import (
    ONE_WAY,
    PROTECTED,
    SYNONYM_GROUPS,
    alternatives,
    canonical,
    canonicalise,
    fits,
    known,
)

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ccl25_train_206.json"


@pytest.fixture(scope="module")
def records() -> list[dict[str, str]]:
    if not DATA.is_file():
        pytest.fail(f"the real data is missing: expected {DATA}")
    return json.loads(DATA.read_text(encoding="utf-8"))


def test_groups_are_well_formed() -> None:
    seen: set[str] = set()
    for group in SYNONYM_GROUPS:
        # a group of one keeps a term known: one-way forms (misspellings, colloquialisms) become it
        assert len(group) >= 2 or any(canonical(f) == group[0] for f in ONE_WAY), group
        for form in group:
            assert form and form == form.strip(), group
            assert form not in seen, f"{form} is listed in two groups"
            seen.add(form)
            assert canonical(form) == group[0]
            assert canonicalise(form) == group[0], form
            assert known(form)
    assert not seen & set(ONE_WAY)


def test_first_form_is_canonical_and_a_fixed_point() -> None:
    for group in SYNONYM_GROUPS:
        assert canonicalise(group[0]) == group[0]
        assert canonicalise(canonicalise(group[-1])) == canonicalise(group[-1])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("冠心病", "冠状动脉粥样硬化性心脏病"),
        ("房颤", "心房颤动"),
        ("阵发性房颤", "阵发性心房颤动"),
        ("高血压", "高血压病"),
        ("高血压3级（很高危）", "高血压病3级（极高危）"),
        ("2型糖尿病", "II型糖尿病"),
        ("2型DM", "Ⅱ型糖尿病"),
        ("NSTEMI", "急性非ST段抬高型心肌梗死"),
        ("非ST段抬高型心肌梗死", "急性非ST段抬高型心肌梗死"),
        ("心衰", "心力衰竭"),
        ("慢性心功能不全急性加重", "慢性心力衰竭急性加重"),
        ("室性早搏", "室性期前收缩"),
        ("陈旧性脑梗", "陈旧性脑梗死"),
        ("脑梗塞", "脑梗死"),
        ("慢阻肺", "COPD"),
        ("心电图", "ECG"),
        ("冠脉造影", "冠状动脉造影"),
        ("冠脉搭桥术", "冠状动脉旁路移植术"),
        ("PCI术后", "经皮冠状动脉介入治疗术后"),
        ("cTnI", "肌钙蛋白I"),
        ("BNP", "脑钠肽"),
        ("EF：45%", "左室射血分数：45%"),
        ("心脏彩超", "超声心动图"),
        ("两下肢浮肿", "双下肢水肿"),
        ("病人规律服用络活喜", "患者规律口服苯磺酸氨氯地平"),
        ("LAD近段", "前降支近段"),
    ],
)
def test_synonyms_compare_equal(a: str, b: str) -> None:
    assert canonicalise(a) == canonicalise(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("血脂异常", "高脂血症"),  # broader
        ("冠状动脉粥样硬化", "冠状动脉粥样硬化性心脏病"),  # different codes (I25.102 / I25.103)
        ("糖尿病", "2型糖尿病"),  # E14 vs E11
        ("肺部感染", "肺炎"),
        ("心房颤动", "阵发性心房颤动"),
        ("急性心力衰竭", "慢性心力衰竭急性加重"),
        ("陈旧性脑梗死", "脑梗死"),
        ("稳定型心绞痛", "不稳定型心绞痛"),
        ("高危", "极高危"),
        ("ST段抬高型心肌梗死", "非ST段抬高型心肌梗死"),
        ("肾功能不全", "心功能不全"),
        ("肌钙蛋白", "肌钙蛋白I"),
    ],
)
def test_related_but_different_terms_stay_apart(a: str, b: str) -> None:
    assert canonicalise(a) != canonicalise(b)


def test_longest_match_and_word_boundaries() -> None:
    assert canonicalise("LVEF") == "LVEF"  # EF is not matched inside LVEF
    assert canonicalise("NT-proBNP") == "NT-proBNP"  # nor BNP inside NT-proBNP
    assert canonicalise("NSTEMI") == "急性非ST段抬高型心肌梗死"  # nor STEMI inside NSTEMI
    assert canonicalise("hs-CRP") == "超敏C反应蛋白"  # nor CRP inside hs-CRP
    assert canonicalise("cTnI") == "肌钙蛋白I"
    assert canonicalise("REF") == "REF"
    assert canonicalise("ECGs") == "ECGs"
    assert canonicalise("急性非ST段抬高型心肌梗死") == "急性非ST段抬高型心肌梗死"


@pytest.mark.parametrize("term", [*PROTECTED, "高血压性心脏病", "右心衰竭", "心梗三联", "乳果糖口服溶液"])
def test_protected_terms_are_never_rewritten(term: str) -> None:
    assert canonicalise(term) == term
    assert alternatives(term) == ()


def test_label_space_names_stay_distinct() -> None:
    names = sorted(set(all_codes().values()))
    canon = [canonicalise(n) for n in names]
    assert len(set(canon)) == len(names)


def test_alternatives_stay_in_the_group_and_never_produce_one_way_forms() -> None:
    assert alternatives("冠心病") == ("冠状动脉粥样硬化性心脏病",)
    assert set(alternatives("高血压")) == {"高血压病", "原发性高血压"}
    assert alternatives("络活喜") == ("苯磺酸氨氯地平",)  # brand → generic, never back
    assert alternatives("遵医瞩") == ("遵医嘱",)
    assert alternatives("不存在的词") == ()
    produced = {a for group in SYNONYM_GROUPS for form in group for a in alternatives(form)}
    assert not produced & set(ONE_WAY)
    for group in SYNONYM_GROUPS:
        for form in group:
            assert all(canonical(a) == canonical(form) for a in alternatives(form))


def test_fits_keeps_latin_abbreviations_whole_words() -> None:
    assert fits("ECG", "复查", "示")
    assert not fits("ECG", "A", "示")
    assert not fits("ECG", "复查", "s")
    assert not fits("CRP", "hs-", "：")
    assert fits("急性非ST段抬高型心肌梗死", "诊断为", "，")
    assert not fits("急性非ST段抬高型心肌梗死", "诊断为急性", "，")


def test_canonicalise_is_idempotent_on_the_real_records(records: list[dict[str, str]]) -> None:
    for r in records:
        for name in TEXT_SECTIONS:
            once = canonicalise(r[name])
            assert canonicalise(once) == once
