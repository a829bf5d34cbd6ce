"""The rule features of the baseline coder: a synonym table of the label-space diseases matched with a
simple negation scope and counted per part of the record, the hypertension grade and risk, NYHA and Killip
grades, and the numbers of ``features``; and which of these columns speak for which other code."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Mapping

import numpy as np

from training.baseline.features import _NUMERIC_NAMES, _numeric_features, _sections, first_diagnosis
from training.regex_gate import GatedPatterns, never_reaches

__all__ = ["rule_features", "RULE_FEATURE_NAMES"]

#: Where a rule feature was found. 入院诊断 is the strongest; the rest separate history (before this
#: admission), what was found and done in hospital, and what the discharge note says.
LOCATIONS: dict[str, tuple[str, ...]] = {
    "dx": ("入院诊断",),
    "hist": ("主诉", "现病史", "既往史", "个人史", "婚姻史", "家族史"),
    "course": ("入院情况", "诊疗经过"),
    "disc": ("出院情况", "出院医嘱"),
}


# A synonym table of the label-space diseases and of the clinical facts that decide the principal
# code, in the project's own wording.  Each entry is a concept name and a regular expression over the
# normalised text; features count the concept per location, with mentions in a negated clause left out.
_NEAR = r"[^。;,:]{0,14}"  # within the same clause, a few characters apart
_SYNONYMS: tuple[tuple[str, str], ...] = (
    # Coronary disease and angina
    ("coronary_heart_disease", r"冠状?动?脉?粥?样?硬化[性型]?心脏?病|冠心病|CHD"),
    ("coronary_atherosclerosis", r"冠状动脉(?:粥样)?硬化(?![性型]?心脏?病)|冠脉(?:粥样)?硬化(?!性心脏?病)"),
    ("unstable_angina", r"不稳定[型性]?心绞痛|不稳定[型性]心脏病|初发劳力型心绞痛|恶化劳力型心绞痛"),
    ("microvascular_angina", r"微血管[型性]?心绞痛|心脏X综合征|X综合征|微血管(?:功能)?(?:障碍|病变)"),
    ("slow_flow", r"慢血流|血流(?:偏慢|缓慢|慢)|TIMI\s*[12]级"),
    ("angina_any", r"心绞痛"),
    ("stable_angina", r"(?<!不)稳定[型性]心绞痛|劳力[型性]心绞痛"),
    ("nstemi", r"非\s*ST\s*段?抬高[型性]?(?:急性)?心肌梗[死塞]|NSTEMI"),
    ("stemi", r"(?<!非)ST\s*段?抬高[型性]?(?:急性)?心肌梗[死塞]|STEMI"),
    ("acute_mi", r"急性(?:[^。;,:]{0,6})?心肌梗[死塞]|急性心梗|AMI"),
    ("acs", r"急性冠[状脉]{1,2}(?:动脉)?综合征|ACS"),
    ("old_mi", r"陈旧性?[^。;,:]{0,4}心肌梗[死塞]|陈旧性?心梗|心肌梗[死塞](?:病史|史)"),
    ("myocardial_bridge", r"心?肌桥"),
    ("stent_status", r"支架(?:植入|置入)?(?:术)?后|PCI术后|PTCA术后|支架术后|冠脉支架"),
    ("stent_now", r"(?:植入|置入)[^。;]{0,20}支架|支架[^。;]{0,6}(?:植入|置入)|行[^。;]{0,12}(?:PCI|PTCA)|球囊扩张"),
    ("angiography", r"冠[状脉]{1,2}(?:动脉)?(?:造影|CTA)|冠脉CT"),
    ("stenosis_mild", r"(?:轻度|轻微|轻-中度|不同程度)[^。;,:]{0,4}狭窄"),
    ("stenosis_severe", r"(?:中度|中-重度|重度|严重|次全)[^。;,:]{0,4}(?:狭窄|闭塞)|完全闭塞"),
    ("no_stenosis", r"未见(?:明显|显著)?狭窄|无(?:明显|显著)?狭窄|狭窄不明显"),
    (
        "troponin_up",
        r"(?:肌钙蛋白|cTn|TnI|TnT|hs-?TnI|心肌酶|心梗三项|心梗三联)" + _NEAR + r"(?:↑|升高|增高|阳性|异常|>)",
    ),
    ("troponin", r"肌钙蛋白|cTn|TnI|TnT"),
    ("ck_mb_up", r"(?:CK-?MB|肌酸激酶同工酶)" + _NEAR + r"(?:↑|升高|增高)"),
    ("st_change", r"ST[^。;]{0,6}(?:压低|下移|改变)|T波(?:倒置|低平|改变)"),
    ("st_elevation", r"ST段?[^。;]{0,4}抬高"),
    ("chest_pain", r"胸痛|胸闷|心前区(?:疼痛|不适)|压榨"),
    ("rest_pain", r"静息|休息时|夜间[^。;]{0,6}(?:发作|胸痛|胸闷)|安静"),
    ("exertional", r"活动后|劳累后|劳力"),
    ("worse_pattern", r"(?:加重|频繁|频率增加|持续时间延长|程度加重)"),
    ("unknown_cause", r"原因待查|待查"),
    # Heart failure
    ("hf_exacerbation", r"(?:慢性)?(?:心功能不全|心力衰竭|心衰)[^。;,:]{0,4}(?:伴)?急性(?:加重|失代偿)|急性失代偿"),
    ("chronic_hf", r"慢性(?:心功能不全|心力衰竭|心衰)"),
    ("acute_hf", r"急性(?:左)?(?:心力衰竭|心衰|心功能不全)|急性肺水肿|急性左心衰"),
    ("hf_any", r"心功能不全|心力衰竭|心衰"),
    ("dyspnea", r"呼吸困难|喘憋|气短|气喘|憋喘|端坐呼吸|夜间阵发性"),
    ("edema", r"(?:下肢|双下肢|全身)[^。;]{0,4}水肿(?!消)"),
    ("diuretic", r"利尿|呋塞米|托拉塞米|螺内酯|沙库巴曲|新活素|重组人脑利钠肽"),
    ("cardiomyopathy", r"心肌病"),
    ("valve_disease", r"心脏瓣膜病|瓣膜性心脏病|瓣膜病|瓣(?:膜)?[^。;,:]{0,8}(?:关闭不全|狭窄|返流|反流)"),
    ("pericardial_effusion", r"心包积液"),
    # Hypertension (the grade and risk are separate features below)
    ("hypertension", r"高血压"),
    ("htn_very_high_risk", r"高血压[^。;]{0,12}(?:很高危|极高危)"),
    # Rhythm
    ("arrhythmia", r"心律失常|心律不齐"),
    ("af", r"心房颤动|房颤|心房纤颤"),
    ("paroxysmal_af", r"阵发性(?:心房颤动|房颤|心房纤颤)"),
    ("persistent_af", r"(?:持续性|永久性|长程持续性)(?:心房颤动|房颤)"),
    ("atrial_flutter", r"心房扑动|房扑"),
    ("pac", r"(?:房性|室上性)(?:早搏|期前收缩)|房早"),
    ("pac_frequent", r"频发[^。;,:]{0,6}(?:房性|室上性)(?:早搏|期前收缩)|(?:房性|室上性)(?:早搏|期前收缩)\(?频发"),
    ("pvc", r"(?<![房上])室性(?:早搏|期前收缩)|室早"),
    ("pvc_frequent", r"频发[^。;,:]{0,6}(?<![房上])室性(?:早搏|期前收缩)|室性(?:早搏|期前收缩)\(?频发"),
    ("premature_occasional", r"偶发[^。;,:]{0,10}(?:早搏|期前收缩)"),
    ("premature_frequent", r"频发[^。;,:]{0,10}(?:早搏|期前收缩)"),
    ("premature_any", r"早搏|期前收缩"),
    ("tachy_block", r"心动过速|传导阻滞|病态窦房结|起搏器"),
    # Metabolic
    ("diabetes_t2", r"(?:2|II|二)型糖尿病|T2DM"),
    ("diabetes", r"糖尿病"),
    ("hyperlipidemia", r"高脂血症|血脂异常|高(?:甘油三酯|胆固醇|脂蛋白)血症|混合型高脂|血脂(?:升高|偏高|增高)"),
    ("lipid_lab_up", r"(?:甘油三酯|胆固醇|低密度脂蛋白)[^。;]{0,16}↑"),
    ("hyperhomocysteinemia", r"高同型半胱氨酸|同型半胱氨酸" + _NEAR + r"(?:↑|升高|增高)|高Hcy"),
    ("hypokalemia", r"低钾|低血钾|钾[^。;,]{0,10}↓"),
    ("thyroid_nodule", r"甲状腺" + _NEAR + r"结节"),
    ("thyroid_cyst", r"甲状腺" + _NEAR + r"囊(?:肿|性)"),
    # Vessels and brain
    ("carotid", r"颈动脉" + _NEAR + r"(?:斑块|硬化)"),
    ("carotid_imt", r"颈动脉" + _NEAR + r"内中膜增厚"),
    ("lower_limb_artery", r"下肢动脉" + _NEAR + r"(?:斑块|硬化)"),
    ("lower_limb_imt", r"下肢动脉" + _NEAR + r"内中膜增厚"),
    ("cerebral_artery", r"(?:脑|颅内|颅脑)动脉" + _NEAR + r"(?:硬化|斑块)|脑动脉粥样硬化"),
    ("old_cerebral_infarct", r"陈旧性?[^。;,:]{0,3}脑梗|脑梗[死塞]?(?:后遗症|个人史|病史|史)"),
    ("cerebral_infarct", r"(?<!陈旧性)(?<!陈旧)(?:急性|亚急性|腔隙性)?脑梗[死塞]?"),
    ("cerebral_ischemia", r"缺血灶|腔隙灶|缺血性脑"),
    # Lung, liver, kidney and the rest
    ("pneumonia", r"肺炎"),
    ("lung_infection", r"肺部感染|肺感染|感染性病变|炎性病变|炎症"),
    ("lung_nodule", r"肺" + r"[^。;]{0,8}" + r"(?:结节|占位|磨玻璃|阴影|异常密度|肿块)"),
    ("fatty_liver", r"脂肪肝|肝脂肪变|脂肪浸润"),
    ("liver_cyst", r"肝[^。;,:肾]{0,6}囊肿"),
    ("kidney_cyst", r"肾[^。;,:肝]{0,6}囊肿|肾囊肿"),
    ("renal_insufficiency", r"肾功能不全|肾衰|慢性肾脏?病|肾功能(?:异常|减退|损害)|尿毒症|透析"),
    ("dizziness", r"头晕|眩晕"),
    ("breast_surgery", r"乳腺[^。;,:]{0,8}术后|乳腺癌术后|乳房[^。;,:]{0,6}切除"),
)
_SYNONYM_RES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I)) for name, pattern in _SYNONYMS
)
_SYNONYM_GATES = GatedPatterns([rx for _name, rx in _SYNONYM_RES])

# A clause ends at these characters; a negation cue earlier in the clause negates the mention.
_CLAUSE_END_RE = re.compile(r"[。;,:!?\n]")
# (排除 and 除外 are left out: "不除外肺炎" means pneumonia is possible, "排除禁忌后" is no negation.)
_NEG_WIDE_RE = re.compile(r"否认|未见|未闻及|未发现|未诉|不考虑")  # negates the rest of the clause
_NEG_NEAR_RE = re.compile(r"[无未不]$|[无未不]明显$|[无未](?:明显)?[^。;,:]{0,2}$")  # negates a mention right after it

# Hypertension grade and risk level, e.g. "高血压病3级(很高危)", "高血压病(3级,极高危)", "高血压Ⅱ级 高危".
_GRADE = {"1": 1, "2": 2, "3": 3, "4": 4, "I": 1, "II": 2, "III": 3, "IV": 4, "一": 1, "二": 2, "三": 3, "四": 4}
_HTN_RE = re.compile(
    r"高血压(?:病)?\s*\(?\s*(III|II|I|[123一二三])\s*级\s*[,、]?\s*\(?\s*(很高危|极高危|高危|中危|低危)?"
)
_HTN_RISK = {"很高危": "vh", "极高危": "vh", "高危": "h", "中危": "m", "低危": "l"}
# NYHA and Killip grades: "心功能III级(NYHA分级)", "NYHA IV级", "Killip II级", "心功能II级(Killip分级)".
_KILLIP = r"K[il1]{2,4}[il1]?p"
_HEART_GRADE_RE = re.compile(
    r"心功能\s*(IV|III|II|I|[1-4一二三四])\s*(?:[-~]\s*(?:IV|III|II|I|[1-4]))?\s*级(.{0,12})", re.I
)
_KILLIP_GRADE_RE = re.compile(_KILLIP + r"\s*(?:分级)?\s*(IV|III|II|I|[1-4])\s*级", re.I)
_NYHA_GRADE_RE = re.compile(r"NYHA\s*(?:分级)?\s*(IV|III|II|I|[1-4])\s*级", re.I)


def _clause_starts(text: str) -> list[int]:
    """Start offsets of the clauses of ``text`` (a clause ends at 。;,:!? or a line break)."""
    return [0, *(m.end() for m in _CLAUSE_END_RE.finditer(text))]


def _positive_mentions(text: str, pattern: re.Pattern[str], starts: list[int] | None = None) -> int:
    """Mentions of ``pattern`` in ``text`` outside a negated clause."""
    n = 0
    for m in pattern.finditer(text):
        if starts is None:
            starts = _clause_starts(text)
        begin = starts[bisect.bisect_right(starts, m.start()) - 1]
        before = text[begin : m.start()]
        if _NEG_WIDE_RE.search(before) or _NEG_NEAR_RE.search(before[-6:]):
            continue
        n += 1
    return n


def _grade(token: str) -> int:
    return _GRADE.get(token.upper() if token.isascii() else token, 0)


def _htn_slots(text: str) -> list[str]:
    """The hypertension (grade, risk) mentions of a text as slot names like 'g3_vh', 'g2', 'rvh'."""
    out = []
    for m in _HTN_RE.finditer(text):
        g = _grade(m.group(1))
        risk = _HTN_RISK.get(m.group(2) or "", "")
        if g:
            out.append(f"g{g}")
            out.append(f"g{g}_{risk or 'none'}")
        if risk:
            out.append(f"r{risk}")
    return out


def _heart_grades(text: str) -> list[str]:
    """NYHA / Killip grade mentions as slot names like 'nyha3', 'killip2'."""
    out = []
    for m in _HEART_GRADE_RE.finditer(text):
        g = _grade(m.group(1))
        tail = m.group(2)
        if re.search(_KILLIP, tail, re.I):
            out.append(f"killip{g}")
        else:
            out.append(f"nyha{g}")
    out += [f"killip{_grade(m.group(1))}" for m in _KILLIP_GRADE_RE.finditer(text)]
    out += [f"nyha{_grade(m.group(1))}" for m in _NYHA_GRADE_RE.finditer(text)]
    return out


_HTN_SLOT_NAMES = (
    "g1", "g2", "g3", "rvh", "rh", "rm", "rl",
    "g1_vh", "g1_h", "g1_m", "g1_none", "g2_vh", "g2_h", "g2_m", "g2_none", "g3_vh", "g3_h", "g3_m", "g3_none",
)  # fmt: skip
_HEART_SLOT_NAMES = tuple(f"{k}{g}" for k in ("nyha", "killip") for g in (1, 2, 3, 4))


_RULE_LOCATIONS = ("dx1", *LOCATIONS)  # dx1: the first admission diagnosis
RULE_FEATURE_NAMES: tuple[str, ...] = (
    *(f"{loc}:{name}" for loc in _RULE_LOCATIONS for name, _ in _SYNONYMS),
    *(f"{loc}:htn_{s}" for loc in ("dx1", "dx", "rest") for s in _HTN_SLOT_NAMES),
    *(f"{loc}:{s}" for loc in ("dx", "rest") for s in _HEART_SLOT_NAMES),
    *(f"num:{n}" for n in _NUMERIC_NAMES),
)


#: A location's text is counted piece by piece, cut after each "。" and ";": no synonym pattern reaches across one
#: (checked below), and a clause, which a negation scopes, ends there too, so the pieces' counts add up to the
#: text's. A rewrite keeps most of its original's pieces word for word, and each piece is counted once (cached).
_PIECE_END = "。;"
_PIECE_RE = re.compile(f"(?<=[{_PIECE_END}])")
_CROSSING = [name for name, rx in _SYNONYM_RES if not never_reaches(rx, _PIECE_END)]
if _CROSSING:
    raise AssertionError(f"synonym patterns that may reach across {_PIECE_END!r}: {', '.join(_CROSSING)}")


@functools.lru_cache(maxsize=65536)
def _piece_mentions(piece: str) -> tuple[tuple[int, int], ...]:
    """(concept, positive mentions) for each synonym-table concept mentioned in one piece of a text."""
    starts = _clause_starts(piece)
    found = []
    for j in _SYNONYM_GATES.candidates(piece):
        n = _positive_mentions(piece, _SYNONYM_GATES.patterns[j], starts)
        if n:
            found.append((j, n))
    return tuple(found)


@functools.lru_cache(maxsize=4096)
def _synonym_row(text: str) -> tuple[float, ...]:
    """Positive mentions of each synonym-table concept in one location's text: 0, ½ (once), 1 (twice or
    more). Cached by text because a rewrite leaves most locations of its original as they were."""
    counts = [0] * len(_SYNONYM_RES)
    for piece in _PIECE_RE.split(text):
        for j, n in _piece_mentions(piece):
            counts[j] += n
    return tuple(min(n, 2) / 2 for n in counts)


def rule_features(record: Mapping[str, str]) -> np.ndarray:
    """The rule-feature vector of one record (names in ``RULE_FEATURE_NAMES``), values in [0, 1]."""
    return _rule_row(_sections(record))


def _rule_row(sec: Mapping[str, str]) -> np.ndarray:
    """``rule_features`` of a record's normalised sections."""
    texts = {loc: "\n".join(sec[k] for k in keys) for loc, keys in LOCATIONS.items()}
    texts["dx1"] = first_diagnosis(sec["入院诊断"])
    row: list[float] = []
    for loc in _RULE_LOCATIONS:
        row += _synonym_row(texts[loc])
    rest = "\n".join(texts[loc] for loc in ("hist", "course", "disc"))
    for t in (texts["dx1"], texts["dx"], rest):
        slots = set(_htn_slots(t))
        row += [float(s in slots) for s in _HTN_SLOT_NAMES]
    for t in (texts["dx"], rest):
        slots = set(_heart_grades(t))
        row += [float(s in slots) for s in _HEART_SLOT_NAMES]
    row += _numeric_features(sec)
    return np.asarray(row, dtype=np.float64)


#: Which rule features speak for which other code (by the part of the feature name after "loc:").
#: Each code's model gets these columns, with their own weight, beside the shared ones.
CODE_RULES: dict[str, tuple[str, ...]] = {
    "E04.101": ("thyroid_nodule",),
    "E04.102": ("thyroid_cyst",),
    "E11.900": ("diabetes_t2", "diabetes"),
    "E14.900x001": ("diabetes", "diabetes_t2"),
    "E72.101": ("hyperhomocysteinemia",),
    "E78.500": ("hyperlipidemia", "lipid_lab_up"),
    "E87.600": ("hypokalemia",),
    "I10.x00x023": ("htn_g1_h", "htn_g1", "htn_rh"),
    "I10.x00x024": ("htn_g1_vh", "htn_g1", "htn_rvh"),
    "I10.x00x027": ("htn_g2_h", "htn_g2", "htn_rh"),
    "I10.x00x028": ("htn_g2_vh", "htn_g2", "htn_rvh"),
    "I10.x00x031": ("htn_g3_h", "htn_g3", "htn_rh"),
    "I10.x00x032": ("htn_g3_vh", "htn_g3", "htn_rvh", "htn_g3_m", "htn_g3_none"),
    "I20.000": ("unstable_angina", "angina_any"),
    "I25.102": ("coronary_atherosclerosis",),
    "I25.103": ("coronary_heart_disease", "unstable_angina", "angiography"),
    "I25.200": ("old_mi",),
    "I31.800x004": ("pericardial_effusion",),
    "I38.x01": ("valve_disease",),
    "I48.x01": ("af", "persistent_af", "paroxysmal_af"),
    "I48.x02": ("paroxysmal_af", "af"),
    "I49.100x001": ("pac", "pac_frequent", "premature_occasional"),
    "I49.100x002": ("pac_frequent", "pac"),
    "I49.300x001": ("pvc_frequent", "pvc"),
    "I49.300x002": ("pvc", "pvc_frequent", "premature_occasional"),
    "I49.400x002": ("premature_occasional", "pac", "pvc"),
    "I49.400x003": ("premature_frequent",),
    "I49.900": ("arrhythmia", "premature_any", "af", "tachy_block", "atrial_flutter"),
    "I50.900x007": ("nyha2",),
    "I50.900x008": ("nyha3",),
    "I50.900x010": ("nyha4",),
    "I50.900x014": ("killip2",),
    "I50.900x015": ("killip3",),
    "I50.900x016": ("killip4",),
    "I50.900x018": ("hf_exacerbation", "chronic_hf"),
    "I50.907": ("acute_hf", "hf_exacerbation", "hf_any"),
    "I63.900": ("cerebral_infarct", "cerebral_ischemia"),
    "I67.200x011": ("cerebral_artery",),
    "I69.300x002": ("old_cerebral_infarct", "cerebral_infarct"),
    "I70.203": ("lower_limb_artery", "lower_limb_imt"),
    "I70.806": ("carotid", "carotid_imt"),
    "J18.900": ("pneumonia", "lung_infection"),
    "J98.414": ("lung_infection", "pneumonia"),
    "K76.000": ("fatty_liver",),
    "K76.807": ("liver_cyst",),
    "N19.x00x002": ("renal_insufficiency",),
    "N28.101": ("kidney_cyst",),
    "Q24.501": ("myocardial_bridge",),
    "R42.x00x004": ("dizziness",),
    "R91.x00x003": ("lung_nodule",),
    "Z95.501": ("stent_status", "stent_now"),
    "Z98.800x612": ("breast_surgery",),
}


def _own_rule_index(code: str) -> np.ndarray:
    keys = set(CODE_RULES.get(code, ()))
    return np.asarray([i for i, n in enumerate(RULE_FEATURE_NAMES) if n.split(":", 1)[1] in keys], dtype=np.int64)
