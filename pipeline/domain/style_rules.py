"""What a rewrite may write: the wording of Chinese discharge records, in the project's own words.

Two tables, read by the synonym table (:mod:`pipeline.domain.synonyms`, whose groups may only produce what
is allowed here) and by the tests of the rule rewriter:

* :data:`FORBIDDEN` — terms a rewrite must never introduce, each with the term records use and why:
  misspellings (不稳定性心绞痛 for 不稳定型心绞痛: the disease is a *type* of angina), outdated terms
  (心肌梗塞), colloquialisms (抽烟, 心慌, 拉肚子) and abbreviations that Chinese discharge records do not use
  (EKG; 心电图 is written in Chinese). A record that already contains one may keep it; a rewrite may
  replace it by the right term but never writes a new one.
* :data:`ALLOWED_ABBREVIATIONS` — the short forms a rewrite may write, each with its full term: the Chinese
  short forms of everyday clinical writing (冠心病, 房颤, 慢阻肺) and the Latin ones that records write in
  Latin (PCI, LVEF, HbA1c, NT-proBNP).
"""

from __future__ import annotations

#: Term → (the term records use, why the first is never written by a rewrite).
FORBIDDEN: dict[str, tuple[str, str]] = {
    # misspellings (型 and 性 are not interchangeable: a type of angina, not a nature)
    "不稳定性心绞痛": ("不稳定型心绞痛", "misspelling"),
    "微血管型心绞痛": ("微血管性心绞痛", "misspelling"),
    "冠状动脉粥样硬化型心脏病": ("冠状动脉粥样硬化性心脏病", "misspelling"),
    "冠状动脉粥样硬化心脏病": ("冠状动脉粥样硬化性心脏病", "misspelling"),
    "甘油三脂": ("甘油三酯", "misspelling"),
    "遵医瞩": ("遵医嘱", "misspelling"),
    "返流": ("反流", "misspelling"),
    "高血脂症": ("高脂血症", "misspelling"),
    "低血钾症": ("低钾血症", "misspelling"),
    # outdated terms
    "心肌梗塞": ("心肌梗死", "outdated term"),
    "脑梗塞": ("脑梗死", "outdated term"),
    # colloquialisms
    "抽烟": ("吸烟", "colloquial"),
    "心慌": ("心悸", "colloquial"),
    "拉肚子": ("腹泻", "colloquial"),
    "拉稀": ("腹泻", "colloquial"),
    "发烧": ("发热", "colloquial"),
    "头疼": ("头痛", "colloquial"),
    "肚子疼": ("腹痛", "colloquial"),
    "脑溢血": ("脑出血", "colloquial"),
    "浮肿": ("水肿", "colloquial"),
    "病人": ("患者", "colloquial"),
    "核磁共振": ("磁共振", "colloquial"),
    "高血脂": ("高脂血症", "colloquial"),
    "低血钾": ("低钾血症", "colloquial"),
    # abbreviations that Chinese discharge records do not write
    "EKG": ("心电图", "abbreviation not used in Chinese records"),
    "ECG": ("心电图", "心电图 is written in Chinese"),
    "T2DM": ("2型糖尿病", "abbreviation not used in Chinese records"),
    "2型DM": ("2型糖尿病", "abbreviation not used in Chinese records"),
    "OMI": ("陈旧性心肌梗死", "abbreviation not used in Chinese records"),
}

#: Short form → full term: the abbreviations a rewrite may write.
ALLOWED_ABBREVIATIONS: dict[str, str] = {
    # Chinese short forms of everyday clinical writing
    "冠心病": "冠状动脉粥样硬化性心脏病",
    "冠脉": "冠状动脉",
    "房颤": "心房颤动",
    "房扑": "心房扑动",
    "室颤": "心室颤动",
    "室速": "室性心动过速",
    "室上速": "室上性心动过速",
    "房速": "房性心动过速",
    "病窦综合征": "病态窦房结综合征",
    "早搏": "期前收缩",
    "心梗": "心肌梗死",
    "心衰": "心力衰竭",
    "脑梗": "脑梗死",
    "腔梗": "腔隙性脑梗死",
    "慢阻肺": "慢性阻塞性肺疾病",
    "慢性阻塞性肺病": "慢性阻塞性肺疾病",
    "甲减": "甲状腺功能减退症",
    "甲亢": "甲状腺功能亢进症",
    "左室": "左心室",
    "右室": "右心室",
    "左房": "左心房",
    "右房": "右心房",
    "前降支": "左前降支",
    "回旋支": "左回旋支",
    "神清": "神志清楚",
    "纳差": "食欲减退",
    "二便": "大小便",
    "胸片": "胸部X线片",
    # Latin abbreviations written as such in Chinese records
    "ACS": "急性冠状动脉综合征",
    "NSTEMI": "急性非ST段抬高型心肌梗死",
    "STEMI": "急性ST段抬高型心肌梗死",
    "AMI": "急性心肌梗死",
    "TIA": "短暂性脑缺血发作",
    "COPD": "慢性阻塞性肺疾病",
    "CKD": "慢性肾脏病",
    "LAD": "左前降支",
    "LCX": "左回旋支",
    "RCA": "右冠状动脉",
    "Holter": "动态心电图",
    "MRI": "磁共振",
    "CAG": "冠状动脉造影",
    "PCI": "经皮冠状动脉介入治疗",
    "CABG": "冠状动脉旁路移植术",
    "LVEF": "左室射血分数",
    "EF": "左室射血分数",
    "BNP": "脑钠肽",
    "NT-proBNP": "N末端B型钠尿肽前体",
    "cTnI": "肌钙蛋白I",
    "TnI": "肌钙蛋白I",
    "cTnT": "肌钙蛋白T",
    "TnT": "肌钙蛋白T",
    "HbA1c": "糖化血红蛋白",
    "TG": "甘油三酯",
    "LDL-C": "低密度脂蛋白胆固醇",
    "HDL-C": "高密度脂蛋白胆固醇",
    "Hcy": "同型半胱氨酸",
    "hs-CRP": "超敏C反应蛋白",
    "hsCRP": "超敏C反应蛋白",
    "CRP": "C反应蛋白",
}


def swaps_type_for_nature(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with 型 and 性 swapped somewhere (不稳定型心绞痛 / 不稳定性心绞痛): never a rewrite."""
    if len(a) != len(b) or a == b:
        return False
    return all(x == y or {x, y} == {"型", "性"} for x, y in zip(a, b, strict=True))


def introduced(original: str, variant: str) -> list[str]:
    """The forbidden terms that ``variant`` contains more often than ``original`` (a rewrite wrote them)."""
    return [term for term in FORBIDDEN if variant.count(term) > original.count(term)]
