"""The gate's table against the corpus of identifiers in tests/privacy_corpus.py: every character of each identifier
must lie inside a hit, so a redacted text keeps none of it; clinical text beside them is left alone."""

from __future__ import annotations

import pytest

from pipeline.privacy.detector import detect
from tests.privacy_corpus import CORPUS


@pytest.mark.parametrize(("text", "identifiers"), CORPUS, ids=[f"{i:03d}" for i in range(len(CORPUS))])
def test_every_character_of_each_identifier_is_inside_a_hit(text: str, identifiers: list[str]) -> None:
    covered = set()
    for hit in detect(text):
        covered |= set(range(hit.start, hit.end))
    for value in identifiers:
        start = text.index(value)
        missing = [text[i] for i in range(start, start + len(value)) if i not in covered and not text[i].isspace()]
        assert not missing, f"{value!r} in {text!r}: not covered {''.join(missing)!r}; hits {detect(text)}"


def test_the_corpus_is_large_enough_to_mean_something() -> None:
    assert len(CORPUS) >= 150 and sum(len(ids) for _, ids in CORPUS) >= 150


#: Clinical text beside which the new forms must find nothing (numbers, dates and names of things).
CLINICAL = [
    "血压130/80mmHg，心率78次/分，体温36.5℃，2024-03-12行冠脉造影",
    "WBC 10.2 ×10^9/L，HGB 125 g/L，PLT 230 ×10^9/L",
    "患者于2020年3月出现胸痛，持续约10分钟",
    "婚姻史：适龄结婚，育有1子1女，配偶体健。",
    "阿司匹林 100mg qd，阿托伐他汀 20mg qn",
    "肌钙蛋白I 0.015 ng/ml，BNP 1250 pg/ml",
    "左心室射血分数 55%，左房内径 38mm",
    "心内科 男 65岁",
    "患者男，73岁，因胸闷3天入院",
    "心电图示：窦性心律，ST段压低0.1mV",
]


@pytest.mark.parametrize("text", CLINICAL)
def test_clinical_text_beside_them_is_left_alone(text: str) -> None:
    assert detect(text) == [], detect(text)
