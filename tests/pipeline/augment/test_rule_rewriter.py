"""The rule-based rewrite generator on all 206 real records (n=20) and on a record written for the test."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pytest

from pipeline.augment.number_style import CN_WRITABLE_UNITS, date_style, date_styles
from pipeline.augment.rule_rewriter import RuleVariant, rule_variants
from pipeline.domain.facts import (
    NUMBER_PATTERN,
    compare_facts,
    diagnosis_item,
    normalise_width,
    number_value,
    split_diagnoses,
)
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.domain.style_rules import FORBIDDEN, introduced, swaps_type_for_nature
from pipeline.domain.synonyms import canonical

ROOT = Path(__file__).resolve().parents[3]
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
def records(shared_data: Path) -> list[dict[str, str]]:
    return json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))


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


def test_generation_does_not_depend_on_the_process(records: list[dict[str, str]], shared_data: Path) -> None:
    """Same variants in a fresh interpreter with another string-hash seed."""
    code = (
        "import json,sys;from pipeline.augment.rule_rewriter import rule_variants;"
        "r=json.load(open(sys.argv[1],encoding='utf-8'))[0];"
        "print(json.dumps([[v.sections,v.edits] for v in rule_variants(r,8,seed=3)],ensure_ascii=False))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(shared_data / "ccl25_train_206.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
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


# ---------------------------------------------------------------------------------------------------
# What an expert reads: one style per variant, nothing a coder would not write
# ---------------------------------------------------------------------------------------------------

_LATIN_TIME = frozenset({"h", "H", "min", "次/min"})
_CHINESE_TIME = frozenset({"小时", "分钟", "次/分", "次/分钟"})
NumberForm = tuple[str, str, str | None]  # value, numeral (arabic | chinese), time unit (latin | chinese | None)


def _number_forms(text: str) -> Counter[NumberForm]:
    """The counts and durations of ``text`` by value, how the numeral is written, and the time unit's script."""
    out: Counter[NumberForm] = Counter()
    for m in NUMBER_PATTERN.finditer(normalise_width(text)):
        value = number_value(m)
        if value is None or not (m.group("num") or m.group("cn")):
            continue
        unit = m.group("unit") or m.group("cunit")
        if m.group("num") and unit not in CN_WRITABLE_UNITS | _LATIN_TIME | _CHINESE_TIME:
            continue  # a measurement (mmHg, mg): always written in Arabic numerals
        script = "latin" if unit in _LATIN_TIME else "chinese" if unit in _CHINESE_TIME else None
        out[(value, "chinese" if m.group("cn") else "arabic", script)] += 1
    return out


def _new_writings(original: Mapping[str, str], variant: Mapping[str, str]) -> tuple[set[str], set[str]]:
    """The numeral styles and the time-unit scripts that the rewriter wrote numbers in: a number of the variant
    whose value the original wrote otherwise (section by section, outside 入院诊断)."""
    numerals: set[str] = set()
    scripts: set[str] = set()
    for name in TEXT_SECTIONS:
        if name == "入院诊断":
            continue
        before, after = _number_forms(original[name]), _number_forms(variant[name])
        removed = before - after
        for value, numeral, script in after - before:
            if not any(r[0] == value and r[1] == numeral for r in removed):
                numerals.add(numeral)
            if script and not any(r[0] == value and r[2] == script for r in removed):
                scripts.add(script)
    return numerals, scripts


def _dates(text: str) -> Counter[str]:
    return Counter(m.group(0) for m in NUMBER_PATTERN.finditer(normalise_width(text)) if date_style(m))


def test_no_variant_writes_a_misspelling_a_colloquialism_or_an_unused_abbreviation(
    records: list[dict[str, str]], generated: list[list[RuleVariant]]
) -> None:
    corrected: Counter[str] = Counter()
    for r, variants in zip(records, generated, strict=True):
        for v in variants:
            for name in TEXT_SECTIONS:
                assert introduced(r[name], v.sections[name]) == [], (r["病案标识"], name, v.edits)
                corrected.update(t for t in FORBIDDEN if v.sections[name].count(t) < r[name].count(t))
            for edit in v.edits:
                if edit.startswith("synonym:"):
                    a, b = edit.removeprefix("synonym:").split("→")
                    assert not (swaps_type_for_nature(a, b) and canonical(b) != b), edit
    print(f"\nforbidden terms of the originals corrected in variants: {dict(corrected.most_common())}")


def test_one_date_format_per_variant(records: list[dict[str, str]], generated: list[list[RuleVariant]]) -> None:
    mixed = sum(len(date_styles("".join(r[n] for n in TEXT_SECTIONS))) > 1 for r in records)
    restyled = 0
    for r, variants in zip(records, generated, strict=True):
        original = "。".join(r[n] for n in TEXT_SECTIONS)
        for v in variants:
            text = "。".join(v.sections[n] for n in TEXT_SECTIONS)
            if _dates(text) != _dates(original):
                restyled += 1
                assert len(date_styles(text)) == 1, (r["病案标识"], date_styles(text), v.edits)
            else:
                assert date_styles(text) == date_styles(original)
    print(f"\n{mixed} records mix date formats; {restyled} variants have their dates in one format")
    assert restyled > 0


def test_one_numeral_style_among_the_numbers_changed(
    records: list[dict[str, str]], generated: list[list[RuleVariant]]
) -> None:
    seen: Counter[str] = Counter()
    for r, variants in zip(records, generated, strict=True):
        for v in variants:
            numerals, scripts = _new_writings(r, v.sections)
            assert len(numerals) <= 1, (r["病案标识"], numerals, v.edits)
            assert len(scripts) <= 1, (r["病案标识"], scripts, v.edits)
            seen.update(f"numerals:{n}" for n in numerals)
            seen.update(f"units:{s}" for s in scripts)
    # every style is used somewhere, so the assertions above had something to check
    assert set(seen) == {"numerals:arabic", "numerals:chinese", "units:latin", "units:chinese"}, seen


def test_the_style_checks_catch_a_mixed_variant() -> None:
    """The checks above fail on what the expert saw: numbers converted both ways, dates in two formats."""
    blank = {name: "" for name in TEXT_SECTIONS}
    original = blank | {"现病史": "餐后一小时…2小时…3小时。2023-06-01入院，2023-06-05出院。"}
    mixed = blank | {"现病史": "餐后1小时…两小时…3h。2023年6月1日入院，2023-06-05出院。"}
    assert _new_writings(original, mixed) == ({"arabic", "chinese"}, {"latin"})
    units = blank | {"现病史": "休息1h，2小时后复查。"}
    assert _new_writings(blank | {"现病史": "休息1小时，2h后复查。"}, units) == (set(), {"latin", "chinese"})
    assert _dates(mixed["现病史"]) != _dates(original["现病史"])
    assert date_styles(mixed["现病史"]) == {"cn", "iso"}
    assert introduced("否认吸烟史，心电图正常。", "否认抽烟史，EKG正常。") == ["抽烟", "EKG"]
