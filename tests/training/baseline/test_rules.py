"""The baseline coder's rule features, read from made-up snippets: grades, synonyms, negation, numbers."""

from __future__ import annotations

from tests.helpers import synthetic_record
from training.baseline.rules import RULE_FEATURE_NAMES, rule_features


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
