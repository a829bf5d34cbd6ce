"""Text features of the baseline coder: normalised record sections, the first admission diagnosis, the
whole-record text of the TF-IDF block, and the numbers read from the text (worst coronary stenosis,
occlusion, troponin, BNP, LVEF, highest blood pressure) that end the rule-feature vector."""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Mapping

from pipeline.domain.records import TEXT_SECTIONS


@functools.lru_cache(maxsize=8192)
def normalise_text(text: str) -> str:
    """NFKC (full-width → ASCII, Ⅲ → III, （ → ( ) and a few OCR slips seen in EMRs. Cached: the
    sections of a record are normalised for several feature blocks, and a rewrite keeps most of them."""
    t = unicodedata.normalize("NFKC", text or "")
    t = t.replace("mmo1", "mmol").replace("umo1", "umol").replace("早博", "早搏")
    return t


def _sections(record: Mapping[str, str]) -> dict[str, str]:
    return {k: normalise_text(str(record.get(k) or "")) for k in TEXT_SECTIONS}


def _full_text(sec: Mapping[str, str]) -> str:
    return "\n".join(f"{k}:{v}" for k, v in sec.items())


# The admission diagnosis is a numbered list ("1.… 2.… 3.…"); its first item is usually the reason
# for this admission, which is what the principal code names.
_ENUM_SPLIT_RE = re.compile(r"(?:^|(?<=[^\d.]))\d{1,2}\s*[.、,]\s*(?!\d(?!型))")  # "2.2型糖尿病" splits


def first_diagnosis(text: str) -> str:
    """The first item of a numbered admission-diagnosis list (the whole text when not numbered)."""
    t = normalise_text(text)
    parts = [p for p in _ENUM_SPLIT_RE.split(t) if p.strip()]
    return parts[0] if parts else t


# Numbers, the last columns of the rule features. A clause ends at 。;,:!? or a line break.
_CLAUSE_RE = re.compile(r"[^。;,:!?\n]+")
_STENOSIS_RES = (
    re.compile(r"(\d{2,3})\s*%\s*(?:左右)?\s*(?:的)?\s*(?:局限性|弥漫性|节段性|管状)?\s*狭窄"),
    re.compile(r"狭窄\s*(?:程度)?\s*(?:最重|最重处)?\s*(?:约|达|为)?\s*(\d{2,3})\s*%"),
)
_CORONARY_WORD_RE = re.compile(r"冠|前降支|回旋支|对角支|钝缘支|左主干|LAD|LCX|RCA|后降支|左室后支")
_OCCLUSION_RE = re.compile(r"闭塞")
_BNP_RE = re.compile(r"(?:BNP|脑钠肽|钠尿肽)[^。;\d]{0,30}?(\d+(?:\.\d+)?)\s*(?:pg/ml|ng/l)", re.I)
_TROPONIN_RE = re.compile(
    r"(?:肌钙蛋白|cTn[IT]?|TnI|TnT)[^。;]{0,30}?(\d+(?:\.\d+)?)\s*↑?\s*(ng/ml|pg/ml|ng/l|ug/l|μg/l)", re.I
)
_TROPONIN_SCALE = {"ng/ml": 1.0, "ug/l": 1.0, "μg/l": 1.0, "pg/ml": 1e-3, "ng/l": 1e-3}  # to ng/mL
_LVEF_RE = re.compile(r"(?:LVEF|EF)\s*(?:值)?\s*[:为约]?\s*(?:约|为)?\s*(\d{2})(?:\.\d)?\s*%", re.I)
_BP_RE = re.compile(r"(\d{2,3})\s*/\s*(\d{2,3})\s*mm\s*Hg", re.I)
_MAX_BP_RE = re.compile(r"(?:最高|最高血压|最高达|最高可达)[^。;]{0,8}?(\d{2,3})\s*/\s*(\d{2,3})")


_NUMERIC_NAMES = (
    "stenosis_max", "stenosis_ge50", "stenosis_ge70", "stenosis_ge90", "stenosis_n70",
    "occlusion", "bnp_log", "bnp_high", "lvef", "lvef_lt50", "lvef_lt40",
    "sbp_max", "dbp_max", "bp_grade3", "bp_grade2", "text_length",
    "troponin_log", "troponin_ge005", "troponin_ge01", "troponin_ge1",
)  # fmt: skip


@functools.lru_cache(maxsize=65536)
def _clause_stenoses(clause: str) -> tuple[tuple[int, ...], bool]:
    """The stenoses (%) one clause reports, an occluded coronary counted as 100, and whether it reports one. Cached:
    a rewrite keeps most of its original's clauses word for word."""
    found = [int(v) for rx in _STENOSIS_RES for v in rx.findall(clause) if 10 <= int(v) <= 100]
    occluded = bool(_OCCLUSION_RE.search(clause) and _CORONARY_WORD_RE.search(clause))
    return (*found, *((100,) if occluded else ())), occluded


def _numeric_features(sec: Mapping[str, str]) -> list[float]:
    course = " ".join(sec[k] for k in ("现病史", "诊疗经过", "入院情况"))
    sten: list[int] = []
    occlusion = 0.0
    for clause in _CLAUSE_RE.findall(course):
        found, occluded = _clause_stenoses(clause)
        sten += found
        if occluded:
            occlusion = 1.0
    smax = max(sten, default=0)
    everything = " ".join(sec.values())
    bnp = max((float(v) for v in _BNP_RE.findall(everything)), default=0.0)
    trop = max((float(v) * _TROPONIN_SCALE[u.lower()] for v, u in _TROPONIN_RE.findall(everything)), default=0.0)
    lvefs = [int(v) for v in _LVEF_RE.findall(everything) if 10 <= int(v) <= 90]
    lvef = min(lvefs, default=60)
    hist = " ".join(sec[k] for k in ("主诉", "现病史", "既往史", "入院情况"))
    bps = [(int(a), int(b)) for a, b in _BP_RE.findall(hist) + _MAX_BP_RE.findall(hist)]
    bps = [(a, b) for a, b in bps if 60 <= a <= 300 and 30 <= b <= 200]
    sbp = max((a for a, _ in bps), default=120)
    dbp = max((b for _, b in bps), default=80)
    return [
        smax / 100,
        float(smax >= 50),
        float(smax >= 70),
        float(smax >= 90),
        min(sum(v >= 70 for v in sten), 5) / 5,
        occlusion,
        math.log1p(bnp) / 10,
        float(bnp >= 400),
        lvef / 100,
        float(lvef < 50),
        float(lvef < 40),
        sbp / 200,
        dbp / 120,
        float(sbp >= 180 or dbp >= 110),
        float(160 <= sbp < 180 or 100 <= dbp < 110),
        math.log1p(len(everything)) / 10,
        math.log1p(100 * trop) / 8,
        float(trop >= 0.05),
        float(trop >= 0.1),
        float(trop >= 1.0),
    ]
