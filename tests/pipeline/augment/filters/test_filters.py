"""Each filter passes the cases it should and fails the others for the stated reason."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from rapidfuzz import fuzz

import pipeline.augment.filters.facts as facts_filter
from pipeline.augment.filters import Candidate
from pipeline.augment.filters.duplicates import DuplicateFilter, similarities
from pipeline.augment.filters.facts import FactsFilter
from pipeline.augment.filters.label import LabelConsistencyFilter
from pipeline.augment.filters.length import LengthFilter
from pipeline.augment.filters.policy import PolicyFilter
from pipeline.augment.rule_rewriter import rule_variants
from pipeline.domain.facts import compare_facts, facts_digest, same_facts
from pipeline.domain.records import ID_KEY, TEXT_SECTIONS, record_text
from pipeline.protocols import CodePrediction, Progress

ORIGINAL = {name: f"{name}内容：患者胸闷3天，血压150/90mmHg，否认糖尿病。" for name in TEXT_SECTIONS}


def cand(seq: int, sections: Mapping[str, str] | None = None, badcase: int = 1) -> Candidate:
    return Candidate(
        100 + seq + 1000 * badcase,
        badcase,
        seq,
        "CASE",
        dict(sections or ORIGINAL),
        dict(ORIGINAL),
        "I20.000",
        ("E78.500", "I25.103"),
    )


class ByText:
    """Predicts codes from a marker the test puts in 主诉: a stand-in model whose answers are known."""

    def predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> list[CodePrediction]:
        out = []
        for r in records:
            marker = r["主诉"]
            if "WRONG_MAIN" in marker:
                out.append(
                    CodePrediction("I21.401", ("E78.500", "I25.103"), votes={"principal": ["I21.401", "I21.401"]})
                )
            elif "EXTRA" in marker:
                out.append(CodePrediction("I20.000", ("E78.500", "I25.103", "I48.x01")))
            elif "MISSING" in marker:
                out.append(CodePrediction("I20.000", ("E78.500",)))
            else:
                out.append(
                    CodePrediction("I20.000", ("I25.103", "E78.500"), votes={"principal": ["I20.000", "I20.000"]})
                )
        return out


def with_chief(text: str) -> dict[str, str]:
    return {**ORIGINAL, "主诉": text}


def test_label_consistency() -> None:
    batch = [cand(0), cand(1, with_chief("WRONG_MAIN")), cand(2, with_chief("EXTRA")), cand(3, with_chief("MISSING"))]
    v = LabelConsistencyFilter(ByText(), "baseline").judge(batch)
    assert [x.passed for x in v] == [True, False, False, False]
    assert "principal I21.401 instead of I20.000" in v[1].reason
    assert "extra I48.x01" in v[2].reason
    assert "missing I25.103" in v[3].reason
    assert v[1].detail == {
        "model": "baseline",
        "check": "predict",
        "principal": "I21.401",
        "others": ["E78.500", "I25.103"],
    }


def test_policy_filter_stores_votes() -> None:
    v = PolicyFilter(ByText(), "qwen").judge(
        [cand(0), cand(1, with_chief("WRONG_MAIN")), cand(2, with_chief("MISSING"))]
    )
    assert [x.passed for x in v] == [True, False, False]
    assert v[0].detail and v[0].detail["votes"] == {"principal": ["I20.000", "I20.000"]}
    assert "other F1 0.67" in v[2].reason


def test_length_filter() -> None:
    short = {k: v[:10] for k, v in ORIGINAL.items()}
    long = {k: v * 2 for k, v in ORIGINAL.items()}
    v = LengthFilter(0.8, 1.25).judge([cand(0), cand(1, short), cand(2, long)])
    assert [x.passed for x in v] == [True, False, False]
    assert "minimum 80%" in v[1].reason and "maximum 125%" in v[2].reason


def test_duplicate_filter_flags_no_ops_and_copies_of_earlier_variants() -> None:
    reworded = {k: v.replace("患者", "病人").replace("胸闷", "胸部憋闷感") for k, v in ORIGINAL.items()}
    reworded2 = {k: v.replace("否认糖尿病", "无糖尿病病史").replace("患者", "该患者") for k, v in ORIGINAL.items()}
    batch = [
        cand(0, reworded),
        cand(1, dict(ORIGINAL)),
        cand(2, dict(reworded)),
        cand(3, reworded2),
        cand(0, dict(reworded), badcase=2),
    ]
    v = DuplicateFilter(max_similarity_to_original=99, max_similarity_to_sibling=98).judge(batch)
    assert [x.passed for x in v] == [True, False, False, True, True]
    assert v[1].reason.startswith("no-op")
    assert v[2].reason == "duplicate of variant 0 (100.0% alike)"
    assert v[0].detail and v[0].detail["similarity_to_original"] < 99
    # The same text under another badcase is not a duplicate of this one's variants.
    assert v[4].passed


def test_section_aligned_similarity_equals_the_whole_text_ratio_on_real_rewrites(shared_data: Path) -> None:
    rows = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))[:6]
    for r in rows:
        original = {k: r.get(k) or "" for k in TEXT_SECTIONS}
        records = [original, *(v.sections for v in rule_variants(original, 8, 0))]
        sim = similarities(records)
        for i, a in enumerate(records):
            for j, b in enumerate(records):
                assert sim[i, j] == fuzz.ratio(record_text(a), record_text(b)), (r[ID_KEY], i, j)


class ScoreByMarker:
    """A stand-in gold scorer whose scores are known: the number after 'S=' in 主诉 (the original scores -1.0).
    It counts its calls, so that an original is scored once per badcase."""

    def __init__(self) -> None:
        self.scored: list[int] = []

    def score(self, records: Sequence[Mapping[str, str]]) -> list[float]:
        self.scored.append(len(records))
        assert all(r["主要诊断编码"] == "I20.000" and r["其他诊断编码"] == "E78.500;I25.103" for r in records)
        return [float(r["主诉"].split("S=")[1]) if "S=" in r["主诉"] else -1.0 for r in records]


def test_gold_check_passes_variants_that_keep_the_gold_as_likely_as_the_original() -> None:
    from pipeline.augment.filters.label import GoldSupportFilter

    scorer = ScoreByMarker()
    gold = GoldSupportFilter(scorer, "m", tolerance=0.05)
    batch = [cand(i, {**ORIGINAL, "主诉": f"S={s}"}) for i, s in enumerate((-1.0, -0.5, -1.04, -1.06, -3.0))]
    verdicts = gold.judge(batch)
    assert [v.passed for v in verdicts] == [True, True, True, False, False]
    assert verdicts[3].reason == "m: the variant weakens the gold codes' support (-1.060 vs -1.000 a token)"
    assert verdicts[0].detail == {"model": "m", "check": "gold", "variant": -1.0, "original": -1.0}
    gold.judge([cand(9, {**ORIGINAL, "主诉": "S=-1"})])  # the same badcase: its original is not scored again
    assert scorer.scored == [1, 5, 1]


def test_facts_of_variants_that_keep_each_section_s_facts_are_not_extracted_again(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule generator's variants keep every section's facts: the facts filter passes them from the sections'
    facts alone (each read once, cached), without building the record's multisets again per variant."""
    record = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))[0]
    original = {k: record[k] for k in TEXT_SECTIONS}
    batch = [cand(k, v.sections) for k, v in enumerate(rule_variants(original, 20, 0))]
    built: list[int] = []
    monkeypatch.setattr(facts_filter, "compare_facts", lambda a, b: built.append(1) or compare_facts(a, b))
    verdicts = FactsFilter(workers=1).judge([replace(c, original=original) for c in batch])
    assert [v.reason for v in verdicts] == ["every fact kept"] * 20
    assert [v.detail for v in verdicts] == [{"dropped": [], "invented": []}] * 20
    assert built == []


def test_the_facts_filter_still_names_a_changed_fact_and_passes_a_moved_one() -> None:
    changed = {**ORIGINAL, "主诉": ORIGINAL["主诉"].replace("3天", "4天")}
    moved = {**ORIGINAL, "主诉": ORIGINAL["主诉"] + "否认高血压。", "现病史": ORIGINAL["现病史"] + "否认高血压。"}
    base = {**ORIGINAL, "现病史": ORIGINAL["现病史"] + "否认高血压。否认高血压。"}
    v_changed, v_moved = FactsFilter(workers=1).judge([cand(1, changed), replace(cand(2, moved), original=base)])
    assert not v_changed.passed and v_changed.detail == {"dropped": ["number:3天"], "invented": ["number:4天"]}
    assert v_moved.passed and v_moved.reason == "every fact kept"


def test_facts_kept_by_the_generator_are_not_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A variant whose generator kept its facts' digest is judged from it: neither its sections' facts nor the
    record's multisets are read again. A kept digest that differs from the original's is checked the long way."""
    changed = {**ORIGINAL, "主诉": ORIGINAL["主诉"].replace("3天", "4天")}
    kept = replace(cand(1, ORIGINAL | {"现病史": ORIGINAL["现病史"] + " "}), facts=facts_digest(ORIGINAL))
    wrong = replace(cand(2, changed), facts=facts_digest(changed))
    read: list[str] = []
    monkeypatch.setattr(facts_filter, "same_facts", lambda a, b: read.append("sections") or same_facts(a, b))
    v_kept, v_wrong = FactsFilter(workers=1).judge([kept, wrong])
    assert v_kept.passed and v_kept.detail == {"dropped": [], "invented": []}
    assert not v_wrong.passed and v_wrong.detail == {"dropped": ["number:3天"], "invented": ["number:4天"]}
    assert read == ["sections"]  # the second variant's only
