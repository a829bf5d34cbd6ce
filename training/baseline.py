"""The CPU baseline coder: character n-gram TF-IDF, clinical rule features and linear models.

It predicts, for a record in the competition format, one principal code and a set of other codes.
It trains on a few hundred records in a few seconds on two cores and needs nothing but scikit-learn,
so the project can mine badcases and run its demo without a GPU.

Feature blocks (each with its own weight in the config):

* ``text`` — TF-IDF of character 1–3-grams over the whole record (NFKC-normalised);
* ``diagnosis`` — TF-IDF of character 1–4-grams over 入院诊断 alone: the admission diagnosis names
  most of the diagnoses outright;
* ``rules`` — a synonym table of the label-space diseases written for this project (冠心病 =
  冠状动脉粥样硬化性心脏病, 房颤 = 心房颤动, 早搏 = 期前收缩, 血脂异常 = 高脂血症 …) matched with a
  simple negation scope (否认…, 无…, 未见…) and counted per part of the record (the first admission
  diagnosis, the whole admission diagnosis, history, hospital course, discharge); the hypertension
  grade and risk level (很高危 = 极高危); NYHA and Killip grades written as Ⅱ / II / 2 / 二; and a few
  numbers that separate the five principal diagnoses (worst coronary stenosis, occlusion, troponin in
  ng/mL, BNP, LVEF, highest blood pressure).

Models:

* principal — one-vs-rest logistic regressions (liblinear) on text + diagnosis + rules;
* each other code — a binary logistic regression on diagnosis + rules, plus that code's *own* rule
  columns (``CODE_RULES``) with a large weight, i.e. lightly regularised: on 200 records a generic
  model cannot find the one column that names its disease among 60,000, so it is pointed at it.
  The whole-record text block and the (out-of-fold) principal probabilities can be added too
  (``other_text_weight``, ``principal_feature_weight``); neither changed the 5-fold score measurably,
  so both are off by default, which makes fitting about three times faster.

The other-code set is chosen per record: the principal code is removed, and so is its family when it
belongs to an exclusive group (a grade-3 very-high-risk hypertension principal leaves no other
hypertension code); each exclusive group (one hypertension grade, one NYHA grade, one Killip grade …)
keeps only its most likely member; then either the top-k set that maximises the plug-in expected F1
(the default, no tuning needed), or every code above one global threshold tuned by inner CV.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import json
import math
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from threadpoolctl import threadpool_limits

from pipeline.domain.codes import split_code_list
from pipeline.domain.metric import set_f1
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS
from pipeline.errors import InputError
from pipeline.parallel import map_chunks
from training.char_ngrams import tfidf_transform
from training.regex_gate import GatedPatterns

__all__ = [
    "BaselineConfig",
    "BaselineCoder",
    "MissingLabelsError",
    "NotFittedError",
    "ModelFormatError",
    "rule_features",
    "RULE_FEATURE_NAMES",
]

FORMAT_VERSION = 1
_MODEL_FILE = "model.joblib"
_CONFIG_FILE = "config.json"


class MissingLabelsError(InputError):
    """A training record lacks its principal code or its other codes (the record is named)."""


class NotFittedError(RuntimeError):
    """``predict`` or ``save`` was called before ``fit``."""


class ModelFormatError(InputError):
    """A saved model directory is missing, incomplete or written by an incompatible version."""


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------


@dataclass
class BaselineConfig:
    """Hyper-parameters of the baseline coder (defaults chosen by reasoning and inner CV)."""

    analyzer: str = field(
        default="char",
        metadata={"help": "TfidfVectorizer analyzer for the whole-record block: 'char' or 'char_wb'."},
    )
    ngram_min: int = field(default=1, metadata={"help": "Shortest character n-gram of the text block."})
    ngram_max: int = field(default=3, metadata={"help": "Longest character n-gram of the text block."})
    max_features: int | None = field(
        default=60000, metadata={"help": "Vocabulary cap of the whole-record block (None: no cap)."}
    )
    min_df: int = field(default=2, metadata={"help": "Minimum document frequency of a text n-gram."})
    sublinear_tf: bool = field(default=True, metadata={"help": "Use 1 + log(tf) in the TF-IDF blocks."})
    diagnosis_ngram_max: int = field(
        default=4, metadata={"help": "Longest character n-gram of the 入院诊断 (admission diagnosis) block."}
    )
    diagnosis_weight: float = field(
        default=1.0,
        metadata={"help": "Weight of the 入院诊断 TF-IDF block (0 turns it off)."},
    )
    rule_weight: float = field(
        default=0.5,
        metadata={"help": "Weight of the rule-feature block (synonym table, grades, numbers; 0 turns it off)."},
    )
    principal_model: str = field(
        default="ovr",
        metadata={
            "help": "Principal-code model: 'ovr' (one-vs-rest liblinear logistic regressions, "
            "probabilities normalised) or 'multinomial' (one softmax logistic regression, lbfgs; slower)."
        },
    )
    principal_C: float = field(
        default=1.0, metadata={"help": "Inverse regularisation of the principal-code logistic regression."}
    )
    other_C: float = field(
        default=1.0, metadata={"help": "Inverse regularisation of each other-code logistic regression."}
    )
    other_text_weight: float = field(
        default=0.0,
        metadata={
            "help": "Weight of the whole-record TF-IDF block in the other-code models (0 leaves it "
            "out: much faster, the 入院诊断 block and the rule features remain)."
        },
    )
    own_rule_weight: float = field(
        default=8.0,
        metadata={
            "help": "Weight of each other code's own rule features (its synonyms, grades), appended "
            "to that code's model only (0 turns them off)."
        },
    )
    principal_feature_weight: float = field(
        default=0.0,
        metadata={"help": "Weight of the (out-of-fold) principal probabilities fed to the other-code models."},
    )
    min_code_count: int = field(
        default=2, metadata={"help": "Other codes seen fewer times than this in training are never predicted."}
    )
    threshold_strategy: str = field(
        default="expected_f1",
        metadata={
            "help": "How the other-code set is picked: 'expected_f1' (top-k maximising the plug-in "
            "expected F1), 'global' (one probability threshold tuned by inner CV) or 'fixed' "
            "(the 'threshold' field as given)."
        },
    )
    threshold: float = field(
        default=0.4,
        metadata={"help": "Probability threshold for 'fixed' (and the fallback of 'global' before tuning)."},
    )
    threshold_grid: tuple[float, ...] = field(
        default=(0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6),
        metadata={"help": "Candidate thresholds tried by the 'global' strategy."},
    )
    inner_folds: int = field(
        default=5,
        metadata={"help": "Inner CV folds for the out-of-fold principal probabilities and threshold tuning."},
    )
    min_other: int = field(default=1, metadata={"help": "Fewest other codes predicted per record."})
    max_other: int = field(default=8, metadata={"help": "Most other codes predicted per record."})
    seed: int = field(default=0, metadata={"help": "Seed of the inner fold assignment and the solvers."})
    n_threads: int | None = field(
        default=1,
        metadata={
            "help": "BLAS/OpenMP threads while fitting and predicting (None: leave as set); one is "
            "fastest for problems this small."
        },
    )

    predict_workers: int | None = field(
        default=None,
        metadata={
            "help": "Processes that share the prediction of a large batch (100 records or more each; "
            "None or 0: one per CPU core, 1: this process only). Results do not depend on it."
        },
    )

    def __post_init__(self) -> None:
        if isinstance(self.threshold_grid, list):
            self.threshold_grid = tuple(self.threshold_grid)
        problems = []
        if self.analyzer not in ("char", "char_wb"):
            problems.append(f"analyzer must be 'char' or 'char_wb', not {self.analyzer!r}")
        if not 1 <= self.ngram_min <= self.ngram_max:
            problems.append("need 1 <= ngram_min <= ngram_max")
        if self.diagnosis_ngram_max < 1:
            problems.append("diagnosis_ngram_max must be at least 1")
        if self.principal_model not in ("ovr", "multinomial"):
            problems.append(f"unknown principal_model {self.principal_model!r}")
        if self.threshold_strategy not in ("expected_f1", "global", "fixed"):
            problems.append(f"unknown threshold_strategy {self.threshold_strategy!r}")
        if self.inner_folds < 2:
            problems.append("inner_folds must be at least 2")
        if self.predict_workers is not None and self.predict_workers < 0:
            problems.append("predict_workers must not be negative (0 or None: one per CPU core)")
        if not 0 <= self.min_other <= self.max_other:
            problems.append("need 0 <= min_other <= max_other")
        for name in (
            "diagnosis_weight",
            "rule_weight",
            "other_text_weight",
            "own_rule_weight",
            "principal_feature_weight",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative")
        for name in ("principal_C", "other_C"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive")
        if problems:
            raise InputError("invalid baseline configuration", problems)

    def to_json(self) -> dict:
        out = asdict(self)
        out["threshold_grid"] = list(self.threshold_grid)
        return out

    @classmethod
    def from_json(cls, data: Mapping) -> BaselineConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# --------------------------------------------------------------------------------------------------
# Text normalisation and rule features
# --------------------------------------------------------------------------------------------------

#: Where a rule feature was found. 入院诊断 is the strongest; the rest separate history (before this
#: admission), what was found and done in hospital, and what the discharge note says.
LOCATIONS: dict[str, tuple[str, ...]] = {
    "dx": ("入院诊断",),
    "hist": ("主诉", "现病史", "既往史", "个人史", "婚姻史", "家族史"),
    "course": ("入院情况", "诊疗经过"),
    "disc": ("出院情况", "出院医嘱"),
}


@functools.lru_cache(maxsize=8192)
def normalise_text(text: str) -> str:
    """NFKC (full-width → ASCII, Ⅲ → III, （ → ( ) and a few OCR slips seen in EMRs. Cached: the
    sections of a record are normalised for several feature blocks, and a rewrite keeps most of them."""
    t = unicodedata.normalize("NFKC", text or "")
    t = t.replace("mmo1", "mmol").replace("umo1", "umol").replace("早博", "早搏")
    return t


def _sections(record: Mapping[str, str]) -> dict[str, str]:
    return {k: normalise_text(str(record.get(k) or "")) for k in TEXT_SECTIONS}


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
_CLAUSE_RE = re.compile(r"[^。;,:!?\n]+")
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
# Numbers.
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
_NUMERIC_NAMES = (
    "stenosis_max", "stenosis_ge50", "stenosis_ge70", "stenosis_ge90", "stenosis_n70",
    "occlusion", "bnp_log", "bnp_high", "lvef", "lvef_lt50", "lvef_lt40",
    "sbp_max", "dbp_max", "bp_grade3", "bp_grade2", "text_length",
    "troponin_log", "troponin_ge005", "troponin_ge01", "troponin_ge1",
)  # fmt: skip


def _numeric_features(sec: Mapping[str, str]) -> list[float]:
    course = " ".join(sec[k] for k in ("现病史", "诊疗经过", "入院情况"))
    sten: list[int] = []
    occlusion = 0.0
    for clause in _CLAUSE_RE.finditer(course):
        c = clause.group(0)
        for rx in _STENOSIS_RES:
            sten += [int(v) for v in rx.findall(c) if 10 <= int(v) <= 100]
        if _OCCLUSION_RE.search(c) and _CORONARY_WORD_RE.search(c):
            occlusion = 1.0
            sten.append(100)
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


# The admission diagnosis is a numbered list ("1.… 2.… 3.…"); its first item is usually the reason
# for this admission, which is what the principal code names.
_ENUM_SPLIT_RE = re.compile(r"(?:^|(?<=[^\d.]))\d{1,2}\s*[.、,]\s*(?!\d(?!型))")  # "2.2型糖尿病" splits


def first_diagnosis(text: str) -> str:
    """The first item of a numbered admission-diagnosis list (the whole text when not numbered)."""
    t = normalise_text(text)
    parts = [p for p in _ENUM_SPLIT_RE.split(t) if p.strip()]
    return parts[0] if parts else t


_RULE_LOCATIONS = ("dx1", *LOCATIONS)  # dx1: the first admission diagnosis
RULE_FEATURE_NAMES: tuple[str, ...] = (
    *(f"{loc}:{name}" for loc in _RULE_LOCATIONS for name, _ in _SYNONYMS),
    *(f"{loc}:htn_{s}" for loc in ("dx1", "dx", "rest") for s in _HTN_SLOT_NAMES),
    *(f"{loc}:{s}" for loc in ("dx", "rest") for s in _HEART_SLOT_NAMES),
    *(f"num:{n}" for n in _NUMERIC_NAMES),
)


@functools.lru_cache(maxsize=4096)
def _synonym_row(text: str) -> tuple[float, ...]:
    """Positive mentions of each synonym-table concept in one location's text: 0, ½ (once), 1 (twice or
    more). Cached by text because a rewrite leaves most locations of its original as they were."""
    if not text:
        return (0.0,) * len(_SYNONYM_RES)
    starts = _clause_starts(text)
    return tuple(
        min(_positive_mentions(text, rx, starts), 2) / 2 if may else 0.0
        for rx, may in zip(_SYNONYM_GATES.patterns, _SYNONYM_GATES.may_match(text), strict=True)
    )


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


def _full_text(sec: Mapping[str, str]) -> str:
    return "\n".join(f"{k}:{v}" for k, v in sec.items())


# --------------------------------------------------------------------------------------------------
# Deciding the other-code set
# --------------------------------------------------------------------------------------------------

#: Codes of which a record carries at most one (in the label space's own sense: one hypertension
#: grade/risk, one NYHA grade, one Killip grade, one kind of atrial fibrillation, one diabetes code).
EXCLUSIVE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"I10.x00x023", "I10.x00x024", "I10.x00x027", "I10.x00x028", "I10.x00x031", "I10.x00x032"}),
    frozenset({"I50.900x007", "I50.900x008", "I50.900x010"}),
    frozenset({"I50.900x014", "I50.900x015", "I50.900x016"}),
    frozenset({"I48.x01", "I48.x02"}),
    frozenset({"E11.900", "E14.900x001"}),
    frozenset({"I49.300x001", "I49.300x002"}),
    frozenset({"I49.100x001", "I49.100x002"}),
)


def _choose_others(
    principal: str,
    probs: np.ndarray,
    codes: Sequence[str],
    strategy: str,
    threshold: float,
    min_other: int,
    max_other: int,
) -> list[str]:
    """Pick the other-code set of one record from per-code probabilities."""
    p = probs.astype(np.float64).copy()
    index = {c: i for i, c in enumerate(codes)}
    if principal in index:
        p[index[principal]] = 0.0
    for group in EXCLUSIVE_GROUPS:
        members = [index[c] for c in group if c in index]
        if not members:
            continue
        if principal in group:  # the principal code already says it (e.g. grade-3 hypertension)
            p[members] = 0.0
            continue
        best = max(members, key=lambda i: p[i])
        for i in members:
            if i != best:
                p[i] = 0.0
    order = [i for i in np.argsort(-p, kind="stable") if p[i] > 0]
    if strategy == "expected_f1":
        # Plug-in expected F1 of the top-k set: 2·Σ_{i≤k} p_i / (k + Σ_all p_i), maximised over k.
        total = float(p.sum())
        best_k, best_v, running = 0, -1.0, 0.0
        for k, i in enumerate(order[:max_other], start=1):
            running += float(p[i])
            v = 2 * running / (k + total)
            if v > best_v:
                best_k, best_v = k, v
        k = best_k
    else:
        k = sum(1 for i in order[:max_other] if p[i] >= threshold)
    k = max(k, min(min_other, len(order)))
    return [codes[i] for i in order[:k]]


# --------------------------------------------------------------------------------------------------
# The coder
# --------------------------------------------------------------------------------------------------


def _labels_of(records: Sequence[Mapping[str, str]]) -> tuple[list[str], list[list[str]]]:
    mains: list[str] = []
    others: list[list[str]] = []
    problems: list[str] = []
    ids: list[str] = []
    for n, r in enumerate(records):
        rid = str(r.get(ID_KEY) or f"#{n + 1}")
        main_raw = str(r.get(MAIN_KEY) or "").strip()
        other_raw = str(r.get(OTHER_KEY) or "").strip()
        if not main_raw or not other_raw:
            missing = [k for k, v in ((MAIN_KEY, main_raw), (OTHER_KEY, other_raw)) if not v]
            problems.append(f"record {rid}: no {' / '.join(missing)}")
            ids.append(rid)
            continue
        main_codes, bad_main = split_code_list(main_raw)
        codes, bad = split_code_list(other_raw)
        if bad_main or bad or len(main_codes) != 1 or not codes:
            problems.append(f"record {rid}: malformed codes {bad_main + bad or [main_raw, other_raw]}")
            ids.append(rid)
            continue
        main = main_codes[0]
        mains.append(main)
        others.append([c for c in codes if c != main])
    if problems:
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        raise MissingLabelsError(f"training record(s) without usable labels: {shown}", problems)
    return mains, others


@dataclass(frozen=True)
class _Blocks:
    text: sp.csr_matrix  #: TF-IDF of the whole record
    diagnosis: sp.csr_matrix  #: TF-IDF of 入院诊断
    rules: np.ndarray  #: rule features, unweighted (columns: RULE_FEATURE_NAMES)


class BaselineCoder:
    """Principal code + other codes from character n-gram TF-IDF, rule features and linear models."""

    def __init__(self, config: BaselineConfig | None = None) -> None:
        self.config = config or BaselineConfig()
        self._fitted = False
        self.principal_codes: list[str] = []
        self.other_codes: list[str] = []
        self.threshold: float = self.config.threshold
        self.fit_seconds: float = 0.0
        self._text_vec: TfidfVectorizer | None = None
        self._dx_vec: TfidfVectorizer | None = None
        self._principal_model: LogisticRegression | None = None
        self._other_models: list[LogisticRegression | None] = []
        self._own_index: list[np.ndarray] = []

    # -- features -----------------------------------------------------------------------------------
    def _features(self, records: Sequence[Mapping[str, str]], fit: bool = False) -> _Blocks:
        """The feature blocks of ``records`` (the vectorizers are fitted first when ``fit``)."""
        cfg = self.config
        secs = [_sections(r) for r in records]  # normalised once for the three blocks
        texts = [_full_text(sec) for sec in secs]
        if fit:
            self._text_vec = TfidfVectorizer(
                analyzer=cfg.analyzer,
                ngram_range=(cfg.ngram_min, cfg.ngram_max),
                max_features=cfg.max_features,
                min_df=min(cfg.min_df, max(1, len(records) // 2)),
                sublinear_tf=cfg.sublinear_tf,
                lowercase=True,
                dtype=np.float64,
            )
            text = self._text_vec.fit_transform(texts)
        else:
            text = tfidf_transform(self._text_vec, texts)
        dx = [sec["入院诊断"] for sec in secs]
        if fit:
            self._dx_vec = TfidfVectorizer(
                analyzer="char",
                ngram_range=(1, cfg.diagnosis_ngram_max),
                min_df=1,
                sublinear_tf=cfg.sublinear_tf,
                lowercase=True,
                dtype=np.float64,
            )
            diagnosis = self._dx_vec.fit_transform(dx)
        else:
            diagnosis = tfidf_transform(self._dx_vec, dx)
        rules = np.vstack([_rule_row(sec) for sec in secs])
        return _Blocks(sp.csr_matrix(text), sp.csr_matrix(diagnosis), rules)

    def _principal_matrix(self, F: _Blocks) -> sp.csr_matrix:
        cfg = self.config
        parts = [F.text]
        if cfg.diagnosis_weight > 0:
            parts.append(cfg.diagnosis_weight * F.diagnosis)
        if cfg.rule_weight > 0:
            parts.append(sp.csr_matrix(cfg.rule_weight * F.rules))
        return sp.hstack(parts, format="csr")

    def _other_matrix(self, F: _Blocks, principal_probs: np.ndarray) -> sp.csr_matrix:
        """The design matrix shared by the other-code models (each adds its own rule columns)."""
        cfg = self.config
        parts = []
        if cfg.other_text_weight > 0:
            parts.append(cfg.other_text_weight * F.text)
        if cfg.diagnosis_weight > 0:
            parts.append(cfg.diagnosis_weight * F.diagnosis)
        if cfg.rule_weight > 0:
            parts.append(sp.csr_matrix(cfg.rule_weight * F.rules))
        if cfg.principal_feature_weight > 0:
            parts.append(sp.csr_matrix(cfg.principal_feature_weight * principal_probs))
        if not parts:
            parts.append(sp.csr_matrix((F.rules.shape[0], 0)))
        return sp.hstack(parts, format="csr")

    def _new_principal_model(self) -> LogisticRegression | OneVsRestClassifier:
        cfg = self.config
        if cfg.principal_model == "multinomial":
            return LogisticRegression(C=cfg.principal_C, max_iter=5000, random_state=cfg.seed)
        return OneVsRestClassifier(
            LogisticRegression(C=cfg.principal_C, solver="liblinear", dual=True, max_iter=5000, random_state=cfg.seed)
        )

    def _new_other_model(self) -> LogisticRegression:
        # liblinear's primal (trust-region Newton) solver: with the heavily weighted own-rule columns
        # it converges in a few iterations, where the dual coordinate descent needs many passes.
        return LogisticRegression(
            C=self.config.other_C, solver="liblinear", max_iter=5000, random_state=self.config.seed
        )

    def _principal_proba(self, model: LogisticRegression, X: sp.csr_matrix) -> np.ndarray:
        """Probabilities in the order of ``self.principal_codes`` (a fold may lack a class)."""
        out = np.zeros((X.shape[0], len(self.principal_codes)))
        proba = model.predict_proba(X)
        col = {c: i for i, c in enumerate(self.principal_codes)}
        for j, c in enumerate(model.classes_):
            out[:, col[c]] = proba[:, j]
        return out

    def _code_matrix(self, Xo: sp.csr_matrix, R: np.ndarray, j: int) -> sp.csr_matrix:
        """The design matrix of other code ``j``: the shared one plus the code's own rule features."""
        own = self._own_index[j]
        w = self.config.own_rule_weight
        if w <= 0 or not len(own):
            return Xo
        return sp.hstack([Xo, sp.csr_matrix(w * R[:, own])], format="csr")

    def _other_proba(self, models: Sequence[LogisticRegression | None], Xo: sp.csr_matrix, R: np.ndarray) -> np.ndarray:
        out = np.zeros((Xo.shape[0], len(models)))
        for j, m in enumerate(models):
            if m is not None:
                out[:, j] = m.predict_proba(self._code_matrix(Xo, R, j))[:, 1]
        return out

    def _fit_others(
        self, Xo: sp.csr_matrix, R: np.ndarray, Y: np.ndarray, tick: Callable[[], None] | None = None
    ) -> list[LogisticRegression | None]:
        models: list[LogisticRegression | None] = []
        for j in range(Y.shape[1]):
            y = Y[:, j]
            if y.min() == y.max():  # this code never (or always) occurs in this part: no model
                models.append(None)
            else:
                models.append(self._new_other_model().fit(self._code_matrix(Xo, R, j), y))
            if tick:
                tick()
        return models

    # -- public API ---------------------------------------------------------------------------------
    def fit(
        self,
        records: Sequence[Mapping[str, str]],
        progress: Callable[[int, int], None] | None = None,
    ) -> BaselineCoder:
        """Train on labelled records; raises ``MissingLabelsError`` naming any record without labels.

        ``progress(done, total)`` is called after each step (features, inner folds, each model).
        """
        with self._threads():
            return self._fit(records, progress)

    def _threads(self) -> contextlib.AbstractContextManager:
        n = self.config.n_threads
        return threadpool_limits(limits=n) if n else contextlib.nullcontext()

    def _fit(
        self,
        records: Sequence[Mapping[str, str]],
        progress: Callable[[int, int], None] | None,
    ) -> BaselineCoder:
        start = time.perf_counter()
        cfg = self.config
        records = list(records)
        if not records:
            raise InputError("no training records")
        mains, others = _labels_of(records)
        self.principal_codes = sorted(set(mains))
        counts: dict[str, int] = {}
        for codes in others:
            for c in codes:
                counts[c] = counts.get(c, 0) + 1
        self.other_codes = sorted(c for c, n in counts.items() if n >= cfg.min_code_count)
        y_main = np.asarray(mains)
        Y = np.zeros((len(records), len(self.other_codes)), dtype=np.int64)
        col = {c: j for j, c in enumerate(self.other_codes)}
        for i, codes in enumerate(others):
            for c in codes:
                if c in col:
                    Y[i, col[c]] = 1

        tune = cfg.threshold_strategy == "global"
        folds = self._inner_folds(y_main)
        n_codes = len(self.other_codes)
        total = 1 + len(folds) + 1 + n_codes + (len(folds) * n_codes if tune else 0)
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            if progress:
                progress(done, total)

        F = self._features(records, fit=True)
        X = self._principal_matrix(F)
        R = F.rules
        self._own_index = [_own_rule_index(c) for c in self.other_codes]
        tick()
        # Out-of-fold principal probabilities: the other-code models see what they will see at
        # prediction time (a model's guess, not the gold code).
        P_oof = np.zeros((len(records), len(self.principal_codes)))
        need_oof = cfg.principal_feature_weight > 0 or tune
        if len(self.principal_codes) > 1:
            for tr, va in folds:
                if not need_oof:
                    pass
                elif len(set(y_main[tr])) < 2:
                    P_oof[va] = 1.0 / len(self.principal_codes)
                else:
                    m = self._new_principal_model().fit(X[tr], y_main[tr])
                    P_oof[va] = self._principal_proba(m, X[va])
                tick()
            self._principal_model = self._new_principal_model().fit(X, y_main)
        else:
            P_oof[:] = 1.0
            self._principal_model = None
            for _ in folds:
                tick()
        tick()
        Xo = self._other_matrix(F, P_oof)
        self._other_models = self._fit_others(Xo, R, Y, tick)

        self.threshold = cfg.threshold
        if tune and n_codes:
            oof = np.zeros_like(Y, dtype=np.float64)
            for tr, va in folds:
                models = self._fit_others(Xo[tr], R[tr], Y[tr], tick)
                oof[va] = self._other_proba(models, Xo[va], R[va])
            principal_oof = [self.principal_codes[i] for i in P_oof.argmax(axis=1)]
            self.threshold = self._tune_threshold(oof, principal_oof, others)
        self._fitted = True
        self.fit_seconds = time.perf_counter() - start
        return self

    def _inner_folds(self, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        cfg = self.config
        _, counts = np.unique(y, return_counts=True)
        k = max(2, min(cfg.inner_folds, len(y)))
        if counts.min() >= k:
            splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=cfg.seed)
            return list(splitter.split(np.zeros(len(y)), y))
        rng = np.random.default_rng(cfg.seed)
        order = rng.permutation(len(y))
        return [(np.setdiff1d(order, part), np.sort(part)) for part in np.array_split(order, k)]

    def _tune_threshold(self, oof: np.ndarray, principals: list[str], gold: list[list[str]]) -> float:
        cfg = self.config
        best_t, best_v = cfg.threshold, -1.0
        for t in cfg.threshold_grid:
            v = float(
                np.mean(
                    [
                        set_f1(
                            g,
                            _choose_others(pm, oof[i], self.other_codes, "global", t, cfg.min_other, cfg.max_other),
                        )
                        for i, (pm, g) in enumerate(zip(principals, gold, strict=True))
                    ]
                )
            )
            if v > best_v + 1e-12:
                best_t, best_v = t, v
        return float(best_t)

    def predict_proba(self, records: Sequence[Mapping[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        """Principal probabilities (columns: ``principal_codes``) and other-code probabilities
        (columns: ``other_codes``)."""
        self._check_fitted()
        # Features are pure Python for the most part; each process gets a copy of the model (~6 MB).
        parts = map_chunks(
            functools.partial(_predict_chunk, self), list(records), self.config.predict_workers, min_chunk=100
        )
        return np.vstack([p for p, _ in parts]), np.vstack([o for _, o in parts])

    def _predict_proba(self, records: Sequence[Mapping[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        records = list(records)
        if not records:
            return np.zeros((0, len(self.principal_codes))), np.zeros((0, len(self.other_codes)))
        F = self._features(records)
        X = self._principal_matrix(F)
        if self._principal_model is None:
            P = np.ones((len(records), 1))
        else:
            P = self._principal_proba(self._principal_model, X)
        others = self._other_proba(self._other_models, self._other_matrix(F, P), F.rules)
        return P, others

    def predict(self, records: Sequence[Mapping[str, str]]) -> list[tuple[str, list[str]]]:
        """(principal code, other codes) per record, in order; the principal is never among the others."""
        cfg = self.config
        P, others = self.predict_proba(records)
        out = []
        for i in range(P.shape[0]):
            main = self.principal_codes[int(np.argmax(P[i]))]
            rest = _choose_others(
                main, others[i], self.other_codes, cfg.threshold_strategy, self.threshold, cfg.min_other, cfg.max_other
            )
            out.append((main, rest))
        return out

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise NotFittedError("the baseline coder is not fitted: call fit() or load() first")

    # -- persistence --------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the model to the directory ``path`` (replaced as a whole, never left half-written)."""
        self._check_fitted()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        try:
            state = {
                "format_version": FORMAT_VERSION,
                "principal_codes": self.principal_codes,
                "other_codes": self.other_codes,
                "threshold": self.threshold,
                "fit_seconds": self.fit_seconds,
                "text_vec": self._text_vec,
                "dx_vec": self._dx_vec,
                "principal_model": self._principal_model,
                "other_models": self._other_models,
                "own_index": self._own_index,
            }
            joblib.dump(state, tmp / _MODEL_FILE, compress=3)
            meta = {
                "format_version": FORMAT_VERSION,
                "kind": "sradit-baseline",
                "config": self.config.to_json(),
                "principal_codes": self.principal_codes,
                "other_codes": self.other_codes,
                "threshold": self.threshold,
            }
            (tmp / _CONFIG_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
            for f in (tmp / _MODEL_FILE, tmp / _CONFIG_FILE):
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            old = None
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
                old.rmdir()
                os.replace(target, old)
            os.replace(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> BaselineCoder:
        """Read a model written by ``save``."""
        src = Path(path)
        if not (src / _CONFIG_FILE).is_file() or not (src / _MODEL_FILE).is_file():
            raise ModelFormatError(f"{src} is not a saved baseline model (need {_CONFIG_FILE} and {_MODEL_FILE})")
        meta = json.loads((src / _CONFIG_FILE).read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(
                f"{src}: model format {meta.get('format_version')!r}, this version reads {FORMAT_VERSION}"
            )
        state = joblib.load(src / _MODEL_FILE)
        coder = cls(BaselineConfig.from_json(meta["config"]))
        coder.principal_codes = list(state["principal_codes"])
        coder.other_codes = list(state["other_codes"])
        coder.threshold = float(state["threshold"])
        coder.fit_seconds = float(state.get("fit_seconds", 0.0))
        coder._text_vec = state["text_vec"]
        coder._dx_vec = state["dx_vec"]
        coder._principal_model = state["principal_model"]
        coder._other_models = list(state["other_models"])
        coder._own_index = list(state["own_index"])
        coder._fitted = True
        return coder


def _predict_chunk(coder: BaselineCoder, records: list[Mapping[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    with coder._threads():
        return coder._predict_proba(records)
