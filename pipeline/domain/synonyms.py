"""Synonyms and abbreviations of the task's domain (Chinese cardiology discharge records).

Written in the project's own words. Every group lists surface forms that can replace one another in
any sentence without changing what the record says; the first form of a group is its canonical form.
Terms that are only *related* (broader or narrower: 血脂异常 vs 高脂血症, 糖尿病 vs 2型糖尿病,
冠状动脉粥样硬化 vs 冠状动脉粥样硬化性心脏病, 肺部感染 vs 肺炎) are deliberately kept apart, since
they carry different codes.

Two further tables complete the groups:

* :data:`ONE_WAY` — forms that may be replaced by their canonical form but must not be produced:
  misspellings seen in records, brand names of drugs (a generic name is always right, a brand name
  not always), wording that reads well only one way (给予 → 予以, but "予以出院" never becomes
  "给予出院") and long forms whose parts are already canonical;
* :data:`PROTECTED` — terms that contain a surface form of some group but mean something else
  (高血压性心脏病 is not "高血压病性心脏病", 右心衰竭 is not "右心衰" + 竭); they are matched as a
  whole, so nothing inside them is ever rewritten.

:func:`canonicalise` replaces every known surface form by its canonical form, scanning left to right
and taking the longest form at each position (and again until nothing changes, so that forms built
from other forms, 冠脉搭桥术, end canonical too), so that 冠心病 and 冠状动脉粥样硬化性心脏病 compare equal.
Latin abbreviations only match as whole words (EF is not matched inside LVEF, BNP not inside
NT-proBNP, STEMI not inside NSTEMI).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

#: Interchangeable surface forms; the first of each group is canonical. A group of one form keeps a term
#: known (its one-way forms of :data:`ONE_WAY` are rewritten into it) without anything to swap it for.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    # --- diagnoses and conditions ---
    ("冠状动脉粥样硬化性心脏病", "冠心病"),
    ("冠状动脉", "冠脉"),
    ("急性冠状动脉综合征", "ACS"),
    ("心房颤动", "房颤"),
    ("心房扑动", "房扑"),
    ("心室颤动", "室颤"),
    ("室性心动过速", "室速"),
    ("室上性心动过速", "室上速"),
    ("房性心动过速", "房速"),
    ("病态窦房结综合征", "病窦综合征"),
    ("期前收缩", "早搏"),
    ("高血压病", "高血压", "原发性高血压"),
    ("极高危", "很高危"),
    ("2型糖尿病", "II型糖尿病", "Ⅱ型糖尿病"),
    ("急性非ST段抬高型心肌梗死", "非ST段抬高型心肌梗死", "NSTEMI"),
    ("急性ST段抬高型心肌梗死", "ST段抬高型心肌梗死", "STEMI"),
    ("急性心肌梗死", "AMI"),
    ("陈旧性心肌梗死",),
    ("心肌梗死", "心梗"),
    ("不稳定型心绞痛",),
    ("微血管性心绞痛",),
    ("心力衰竭", "心衰", "心功能不全"),
    ("脑梗死", "脑梗"),
    ("脑出血",),
    ("腔隙性脑梗死", "腔梗"),
    ("短暂性脑缺血发作", "TIA"),
    ("慢性阻塞性肺疾病", "慢阻肺", "COPD", "慢性阻塞性肺病"),
    ("慢性肾脏病", "CKD"),
    ("高脂血症",),
    ("低钾血症",),
    ("甲状腺功能减退症", "甲减"),
    ("甲状腺功能亢进症", "甲亢"),
    ("心脏瓣膜病", "瓣膜性心脏病"),
    ("反流",),
    # --- symptoms and findings ---
    ("心悸",),
    ("水肿",),
    ("咳痰", "咯痰"),
    ("食欲减退", "纳差", "食欲差"),
    ("大小便", "二便"),
    ("神志清楚", "神志清", "神清"),
    ("呼吸音清晰", "呼吸音清"),
    ("心律齐", "心律规整"),
    ("病情平稳", "病情稳定"),
    ("一般情况", "一般状况"),
    ("体健", "身体健康"),
    ("吸烟",),
    # --- anatomy (sides stay as they are: only the wording of the part changes) ---
    ("双下肢", "两下肢"),
    ("双上肢", "两上肢"),
    ("双肺", "两肺"),
    ("双侧", "两侧"),
    ("左心室", "左室"),
    ("右心室", "右室"),
    ("左心房", "左房"),
    ("右心房", "右房"),
    ("左前降支", "前降支", "LAD"),
    ("左回旋支", "回旋支", "LCX"),
    ("右冠状动脉", "RCA"),
    # --- examinations, procedures and laboratory tests ---
    ("心电图",),
    ("动态心电图", "Holter"),
    ("超声心动图", "心脏彩超", "心脏超声"),
    ("颈动脉超声", "颈动脉彩超"),
    ("磁共振", "MRI"),
    ("胸部X线片", "胸片"),
    ("冠状动脉造影", "CAG"),
    ("经皮冠状动脉介入治疗", "PCI"),
    ("冠状动脉旁路移植术", "冠状动脉搭桥术", "CABG"),
    ("支架植入", "支架置入"),
    ("LVEF", "左室射血分数", "左心室射血分数", "EF"),
    ("BNP", "脑钠肽", "B型钠尿肽", "B型利钠肽"),
    ("NT-proBNP", "N末端B型钠尿肽前体", "N末端B型利钠肽原", "N末端脑钠肽前体"),
    ("肌钙蛋白I", "cTnI", "TnI"),
    ("肌钙蛋白T", "cTnT", "TnT"),
    ("糖化血红蛋白", "HbA1c"),
    ("甘油三酯", "TG"),
    ("低密度脂蛋白胆固醇", "LDL-C"),
    ("高密度脂蛋白胆固醇", "HDL-C"),
    ("同型半胱氨酸", "Hcy"),
    ("超敏C反应蛋白", "hs-CRP", "hsCRP"),
    ("C反应蛋白", "CRP"),
    # --- common clinical wording ---
    ("患者",),
    ("每日", "每天"),
)

#: Forms that are recognised (and may be rewritten into their canonical form) but never produced.
ONE_WAY: dict[str, str] = {
    # misspellings, outdated terms, colloquialisms and abbreviations that Chinese records do not write
    # (pipeline.domain.style_rules.FORBIDDEN: a rewrite may correct them, never write them)
    "冠状动脉粥样硬化心脏病": "冠状动脉粥样硬化性心脏病",
    "冠状动脉粥样硬化型心脏病": "冠状动脉粥样硬化性心脏病",
    "甘油三脂": "甘油三酯",
    "遵医瞩": "遵医嘱",
    "不稳定性心绞痛": "不稳定型心绞痛",
    "微血管型心绞痛": "微血管性心绞痛",
    "心肌梗塞": "心肌梗死",
    "脑梗塞": "脑梗死",
    "脑溢血": "脑出血",
    "高血脂症": "高脂血症",
    "高血脂": "高脂血症",
    "低血钾症": "低钾血症",
    "低血钾": "低钾血症",
    "返流": "反流",
    "心慌": "心悸",
    "浮肿": "水肿",
    "抽烟": "吸烟",
    "病人": "患者",
    "核磁共振": "磁共振",
    "ECG": "心电图",
    "EKG": "心电图",
    "2型DM": "2型糖尿病",
    "T2DM": "2型糖尿病",
    "OMI": "陈旧性心肌梗死",
    # long forms whose parts are already canonical
    "原发性高血压病": "高血压病",
    "病窦": "病态窦房结综合征",
    # wording that reads well only one way ("予以出院" cannot become "给予出院"; "口服，每天1次" reads
    # badly as "服用，每天1次")
    "给予": "予以",
    "服用": "口服",
    # brand names → generic names
    "络活喜": "苯磺酸氨氯地平",
    "波立维": "氯吡格雷",
    "倍林达": "替格瑞洛",
    "立普妥": "阿托伐他汀钙",
    "诺欣妥": "沙库巴曲缬沙坦",
}

#: Terms that contain some surface form but must be kept whole (canonical form = themselves).
PROTECTED: tuple[str, ...] = (
    "高血压性",  # 高血压性心脏病 / 高血压性肾病 …
    "高血压脑病",
    "高血压急症",
    "高血压危象",
    "高血压待查",
    "继发性高血压",
    "妊娠期高血压",
    "妊娠高血压",
    "肺高血压",
    "肾性高血压",
    "白大衣高血压",
    "心衰竭",  # 右心衰竭 / 左心衰竭 / 全心衰竭
    "心梗三联",  # the name of a laboratory panel
    "心梗三项",
    "左右冠状动脉",
    "左右冠脉",
    "口服溶液",  # part of drug names
    "口服液",
    "左房室",
    "右房室",
    "高同型半胱氨酸血症",
    "壁水肿",  # 胆囊壁水肿 …: 浮肿 is said of skin, not of organ walls
    "组织水肿",
    "骨髓水肿",
    "视乳头水肿",
    "肺水肿",
    "脑水肿",
    "黄斑水肿",
    "间质水肿",
    "心肌水肿",
    "粘膜水肿",
    "黏膜水肿",
)

_CANON: dict[str, str] = {}
_GROUP_OF: dict[str, int] = {}
for _i, _group in enumerate(SYNONYM_GROUPS):
    for _form in _group:
        if _form in _CANON:
            raise RuntimeError(f"synonym form listed twice: {_form}")
        _CANON[_form] = _group[0]
        _GROUP_OF[_form] = _i
for _form, _target in ONE_WAY.items():
    if _form in _CANON:
        raise RuntimeError(f"one-way form is also a group form: {_form}")
    _CANON[_form] = _CANON.get(_target, _target)
for _form in PROTECTED:
    _CANON.setdefault(_form, _form)

_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]")


def _alternative(form: str) -> str:
    """A regex alternative for one form, with word boundaries where the form begins/ends with Latin."""
    pattern = re.escape(form)
    first, last = form[0], form[-1]
    if first.isascii() and first.isalpha():
        pattern = r"(?<![A-Za-z0-9\-])" + pattern
    elif first.isascii() and first.isdigit():
        pattern = r"(?<![0-9])" + pattern
    if form.startswith("ST段"):
        pattern = r"(?<!非)" + pattern
    if last.isascii() and last.isalnum():
        pattern = pattern + r"(?![A-Za-z])"
    return pattern


#: One regex over every known form, longest first (Python tries alternatives in order).
#: (The leading look-ahead on the possible first characters lets the regex engine skip other positions
#: quickly; the look-behinds of Latin forms would otherwise stop it from doing so.)
SURFACE_PATTERN: re.Pattern[str] = re.compile(
    "(?=["
    + re.escape("".join(sorted({f[0] for f in _CANON})))
    + "])(?:"
    + "|".join(_alternative(f) for f in sorted(_CANON, key=lambda f: (-len(f), f)))
    + ")"
)


def canonical(term: str) -> str:
    """The canonical form of a term known to the table (the term itself when unknown)."""
    return _CANON.get(term, term)


#: Forms whose canonical form is themselves (a pass that meets only these changes nothing).
_FIXED = frozenset(f for f, c in _CANON.items() if f == c)


def _canonicalise(text: str) -> str:
    for _ in range(4):
        changed = False

        def replace(m: re.Match[str]) -> str:
            nonlocal changed
            form = m.group(0)
            if form in _FIXED:
                return form
            changed = True
            return _CANON[form]

        text = SURFACE_PATTERN.sub(replace, text)
        if not changed:
            break
    return text


@lru_cache(maxsize=65536)
def canonicalise(text: str) -> str:
    """Replace every known surface form in ``text`` by its canonical form (longest match first), again
    until nothing changes: 冠脉搭桥术 → 冠状动脉搭桥术 (冠脉 → 冠状动脉) → 冠状动脉旁路移植术."""
    return _canonicalise(text)


def synonymous(a: str, b: str) -> bool:
    """Whether two texts say the same thing up to synonyms (not cached: for one-off comparisons)."""
    return a == b or _canonicalise(a) == _canonicalise(b)


def known(term: str) -> bool:
    """Whether ``term`` is a form of the table (a group form, a one-way form or a protected term)."""
    return term in _CANON


def alternatives(form: str) -> tuple[str, ...]:
    """The forms a rewrite may put in place of ``form`` (never ``form`` itself, never a one-way form)."""
    if form in _GROUP_OF:
        return tuple(f for f in SYNONYM_GROUPS[_GROUP_OF[form]] if f != form)
    if form in ONE_WAY:
        return (ONE_WAY[form],)
    return ()


def find_forms(text: str) -> Iterator[re.Match[str]]:
    """Every known form in ``text``, as the canonicaliser sees it (left to right, longest first)."""
    return SURFACE_PATTERN.finditer(text)


def fits(replacement: str, before: str, after: str) -> bool:
    """Whether ``replacement`` can follow the text ``before`` and precede the character ``after`` and still
    be read as one word (a Latin abbreviation glued to other Latin letters would not be; 急性 is not said
    twice in a row)."""
    prev = before[-1:] if before else ""
    if replacement[0].isascii() and replacement[0].isalnum() and prev and (_ASCII_ALNUM.match(prev) or prev == "-"):
        return False
    if replacement.startswith("急性") and "急性" in before[-8:]:
        return False
    if replacement[-1].isascii() and replacement[-1].isalnum() and after and after.isascii() and after.isalpha():
        return False
    return True
