"""The rule-based rewrite generator on all 206 real records (n=20) and on a record written for the test."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.augment.rule_rewriter import RuleVariant, rule_variants
from pipeline.domain.facts import compare_facts, diagnosis_item, split_diagnoses
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.domain.synonyms import canonical

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data" / "ccl25_train_206.json"
N = 20

#: A record in the project's own words, with something for every kind of edit.
OWN_RECORD: dict[str, str] = {
    "主诉": "反复胸闷、气短2年，加重3天。",
    "现病史": "患者2年前活动后出现胸闷、气短，无胸痛、心悸、头晕，无恶心，无呕吐，休息10分钟可缓解。"
    "3天前症状加重，于2023-05-01来诊，测血压200mmHg。",
    "既往史": "冠心病病史5年。否认糖尿病史。否认输血史。否认外伤史。",
    "个人史": "否认吸烟、饮酒史。",
    "婚姻史": "25岁结婚，配偶体健。",
    "家族史": "父亲体健。母亲患高血压病。",
    "入院情况": "查体：BP200/110mmHg，心率80次/分，双肺呼吸音清，右下肢无水肿。",
    "入院诊断": "1.冠心病不稳定型心绞痛2.高血压病3级（很高危）3.2型糖尿病",
    "诊疗经过": "入院后完善检查。甘油三酯：2.1mmol/L；肌酐：85umol/L；心脏彩超：LVEF 45%。"
    "给予抗血小板、调脂、降压等治疗。",
    "出院情况": "患者病情平稳，无胸闷，无气短，无头晕。",
    "出院医嘱": "1.阿司匹林肠溶片100mg，每日1次。2.门诊随诊。",
}


@pytest.fixture(scope="module")
def records() -> list[dict[str, str]]:
    if not DATA.is_file():
        pytest.fail(f"the real data is missing: expected {DATA}")
    return json.loads(DATA.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def generated(records: list[dict[str, str]]) -> list[list[RuleVariant]]:
    start = time.perf_counter()
    out = [rule_variants(r, N) for r in records]
    seconds = time.perf_counter() - start
    counts = [len(v) for v in out]
    total = sum(counts)
    print(
        f"\nrule variants, n={N}, {len(records)} records: per record min {min(counts)} / median "
        f"{statistics.median(counts)} / max {max(counts)}; {total} variants in {seconds:.1f} s "
        f"({total / seconds:.0f} variants/s)"
    )
    return out


def test_every_variant_keeps_every_fact(records: list[dict[str, str]], generated: list[list[RuleVariant]]) -> None:
    for r, variants in zip(records, generated, strict=True):
        for v in variants:
            assert compare_facts(r, v.sections) == ([], [])


def test_sections_are_complete_and_non_empty(generated: list[list[RuleVariant]]) -> None:
    for variants in generated:
        for v in variants:
            assert tuple(v.sections) == TEXT_SECTIONS
            assert all(v.sections[name].strip() for name in TEXT_SECTIONS)


def test_variants_are_distinct_and_differ_from_the_original(
    records: list[dict[str, str]], generated: list[list[RuleVariant]]
) -> None:
    for r, variants in zip(records, generated, strict=True):
        texts = [tuple(v.sections[name] for name in TEXT_SECTIONS) for v in variants]
        assert len(set(texts)) == len(texts)
        assert tuple(r[name] for name in TEXT_SECTIONS) not in texts


def test_every_record_gets_enough_variants(generated: list[list[RuleVariant]]) -> None:
    counts = [len(v) for v in generated]
    assert min(counts) >= 5
    assert statistics.median(counts) == N
    assert sum(c == N for c in counts) >= 0.95 * len(counts)


def test_the_diagnosis_list_keeps_its_items_and_their_order(
    records: list[dict[str, str]], generated: list[list[RuleVariant]]
) -> None:
    for r, variants in zip(records, generated, strict=True):
        items = [diagnosis_item(i) for i in split_diagnoses(r["入院诊断"])]
        for v in variants:
            assert [diagnosis_item(i) for i in split_diagnoses(v.sections["入院诊断"])] == items


_EDIT = re.compile(
    r"^(?:synonym:(?P<a>.+)→(?P<b>.+)|(?P<kind>reorder|sentence-order|number-format):(?P<section>\S+).*)$"
)


def test_edits_are_recorded_and_true(records: list[dict[str, str]], generated: list[list[RuleVariant]]) -> None:
    kinds: set[str] = set()
    for r, variants in zip(records, generated, strict=True):
        for v in variants:
            assert v.edits, "a variant without a recorded edit"
            assert len(set(v.edits)) == len(v.edits)
            text = "\n".join(v.sections.values())
            for edit in v.edits:
                m = _EDIT.match(edit)
                assert m, edit
                if m.group("a"):
                    kinds.add("synonym")
                    # never a broader or narrower term: both forms have one canonical form
                    assert canonical(m.group("a")) == canonical(m.group("b")), edit
                    assert m.group("b") in text
                else:
                    kinds.add(m.group("kind"))
                    section = m.group("section")
                    assert section in TEXT_SECTIONS
                    assert v.sections[section] != r[section]
                    if m.group("kind") == "sentence-order":
                        assert section not in ("入院诊断", "出院医嘱")
                    if m.group("kind") != "synonym":
                        assert section != "入院诊断"
    assert kinds == {"synonym", "reorder", "sentence-order", "number-format"}


def test_generation_is_deterministic(records: list[dict[str, str]], generated: list[list[RuleVariant]]) -> None:
    for i in (0, 57, 205):
        assert rule_variants(records[i], N) == generated[i]
        other = rule_variants(records[i], N, seed=1)
        assert [v.sections for v in other] != [v.sections for v in generated[i]]
    assert rule_variants(records[3], 5) == rule_variants(dict(records[3]), 5)


def test_a_smaller_n_gives_a_prefix(records: list[dict[str, str]], generated: list[list[RuleVariant]]) -> None:
    """Variant k is the same whatever n was asked for (the rule rewriter resumes at variant k)."""
    for i in (1, 100):
        assert rule_variants(records[i], 7) == generated[i][:7]


def test_generation_does_not_depend_on_the_process(records: list[dict[str, str]]) -> None:
    """Same variants in a fresh interpreter with another string-hash seed."""
    code = (
        "import json,sys;from pipeline.augment.rule_rewriter import rule_variants;"
        "r=json.load(open(sys.argv[1],encoding='utf-8'))[0];"
        "print(json.dumps([[v.sections,v.edits] for v in rule_variants(r,8,seed=3)],ensure_ascii=False))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(DATA)], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    here = [[v.sections, list(v.edits)] for v in rule_variants(records[0], 8, seed=3)]
    assert json.loads(out) == here


def test_n_and_inputs(records: list[dict[str, str]]) -> None:
    r = dict(records[10])
    before = dict(r)
    assert rule_variants(r, 0) == []
    assert len(rule_variants(r, 3)) == 3
    assert r == before  # the input is not changed
    partial = {"现病史": "患者无胸痛、胸闷、气短，血压200mmHg。"}
    variants = rule_variants(partial, 5)
    assert variants
    for v in variants:
        assert tuple(v.sections) == TEXT_SECTIONS
        assert compare_facts(partial, v.sections) == ([], [])


def test_every_kind_of_edit_on_a_record_of_our_own() -> None:
    variants = rule_variants(OWN_RECORD, 40)
    assert len(variants) == 40
    texts = [v.sections for v in variants]
    for v in variants:
        assert compare_facts(OWN_RECORD, v.sections) == ([], [])

    def some(section: str, predicate) -> bool:
        return any(predicate(t[section]) for t in texts)

    # synonyms, both ways, in the diagnosis list too
    assert some("既往史", lambda s: s.startswith("冠状动脉粥样硬化性心脏病病史"))
    assert some("入院诊断", lambda s: "冠状动脉粥样硬化性心脏病" in s or "高血压3级" in s or "极高危" in s)
    assert some("诊疗经过", lambda s: "TG：" in s)
    # a negated list in another order, and runs of negated clauses
    assert some("现病史", lambda s: "无心悸、" in s or "无头晕、" in s)
    assert some("出院情况", lambda s: not s.startswith("患者病情平稳，无胸闷，无气短，无头晕") and "无头晕，" in s)
    # a treatment list in another order
    assert some("诊疗经过", lambda s: not re.search("给予抗血小板、调脂、降压", s) and "等治疗" in s)
    # independent sentences moved
    assert some("既往史", lambda s: s.index("否认外伤史") < s.index("否认输血史"))
    assert some("诊疗经过", lambda s: s.find("肌酐") < s.find("甘油三酯") or s.find("心脏") < s.find("肌酐"))
    # equivalent number formats
    assert some("现病史", lambda s: "200 mmHg" in s or "2023年5月1日" in s or "十分钟" in s or "10min" in s)
    assert some("入院情况", lambda s: "200/110 mmHg" in s or "80次/min" in s or "80次/分钟" in s)
    assert some("诊疗经过", lambda s: "85μmol/L" in s or "85 umol/L" in s)
    assert some("出院医嘱", lambda s: "每日一次" in s or "100 mg" in s)
    # never: numbered lists reordered, numbers in the diagnosis list touched, sides changed
    for t in texts:
        assert t["出院医嘱"].index("1.") < t["出院医嘱"].index("2.")
        assert "3级" in t["入院诊断"]
        assert "右下肢" in t["入院情况"]
