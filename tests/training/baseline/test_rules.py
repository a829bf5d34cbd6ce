"""The baseline coder's rule features, read from made-up snippets: grades, synonyms, negation, numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.helpers import synthetic_record
from training.baseline.features import _sections
from training.baseline.rules import (
    _SYNONYM_RES,
    LOCATIONS,
    RULE_FEATURE_NAMES,
    _piece_mentions,
    _positive_mentions,
    _synonym_row,
    rule_features,
)
from training.regex_gate import never_reaches

_NAMES = [name for name, _rx in _SYNONYM_RES]


def _feature(record: dict, name: str) -> float:
    return float(rule_features(record)[RULE_FEATURE_NAMES.index(name)])


def test_rule_features_read_grades_synonyms_and_negation() -> None:
    rec = synthetic_record(
        "S1",
        "I50.900x018",
        "I50.900x008",
        "1.慢性心衰急性加重 心功能Ⅲ级(NYHA分级)2.高血压病(3级,很高危)3.冠心病4.阵发性房颤",
    )
    rec["既往史"] = "否认糖尿病病史。"
    assert _feature(rec, "dx:htn_g3_vh") == 1.0
    assert _feature(rec, "dx:nyha3") == 1.0
    assert _feature(rec, "dx:nyha2") == 0.0
    assert _feature(rec, "dx:coronary_heart_disease") > 0
    assert _feature(rec, "dx:paroxysmal_af") > 0
    assert _feature(rec, "dx1:hf_exacerbation") > 0  # the first listed diagnosis
    assert _feature(rec, "hist:diabetes") == 0.0  # negated by 否认
    killip = synthetic_record("S2", "I21.401", "I50.900x014", "1.急性非ST段抬高型心肌梗死 Killip Ⅱ级")
    assert _feature(killip, "dx:killip2") == 1.0
    assert _feature(killip, "dx:nstemi") > 0


def test_rule_features_read_numbers() -> None:
    rec = synthetic_record(
        "S3", "I21.401", "I25.103", "1.胸痛待查", course="冠脉造影示前降支近段狭窄约90%。肌钙蛋白I:1250pg/mL↑。"
    )
    assert _feature(rec, "num:stenosis_ge90") == 1.0
    assert _feature(rec, "num:troponin_ge1") == 1.0  # 1250 pg/mL = 1.25 ng/mL


def _whole_text_row(text: str) -> tuple[float, ...]:
    """The synonym row as the coder counted it before pieces: every pattern over the whole text."""
    return tuple(min(_positive_mentions(text, rx), 2) / 2 for _name, rx in _SYNONYM_RES)


def test_a_text_is_counted_piece_by_piece_as_it_is_whole_and_each_piece_once(shared_data: Path) -> None:
    rows = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))[:40]
    texts = ["\n".join(sec[k] for k in keys) for r in rows for sec in [_sections(r)] for keys in LOCATIONS.values()]
    texts += ["既往冠心病史。无糖尿病;房颤", "房颤;既往冠心病史。无糖尿病"]  # the same pieces, moved
    _synonym_row.cache_clear()
    _piece_mentions.cache_clear()
    assert [_synonym_row(t) for t in texts] == [_whole_text_row(t) for t in texts]
    assert _synonym_row(texts[-1])[_NAMES.index("af")] == 0.5
    before = _piece_mentions.cache_info()
    _synonym_row("无糖尿病;既往冠心病史。房颤")  # one more order: every piece was counted before
    assert _piece_mentions.cache_info().misses == before.misses


def test_a_synonym_pattern_that_could_reach_across_a_cut_is_refused() -> None:
    assert never_reaches(re.compile(r"冠心病[^。;]{0,9}房颤", re.I), "。;")
    assert not never_reaches(re.compile(r"冠心病.{0,9}房颤", re.I), "。;")
