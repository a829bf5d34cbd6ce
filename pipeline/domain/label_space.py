"""The task's label space: the 5 principal and the other diagnosis codes with their official names.

These are public facts of CCL25-Eval Task 8 (codes of the national clinical edition 2.0 of ICD-10).
The database stores them at ``sradit db init`` (table ``label_codes``), where validation reads them.
"""

from __future__ import annotations

PRINCIPAL: dict[str, str] = {
    "I10.x00x032": "高血压病3级（极高危）",
    "I20.000": "不稳定型心绞痛",
    "I20.800x007": "微血管性心绞痛",
    "I21.401": "急性非ST段抬高型心肌梗死",
    "I50.900x018": "慢性心功能不全急性加重",
}

#: Other-diagnosis codes seen in public material (the task says 53; 52 are known).
OTHER: dict[str, str] = {
    "E04.101": "甲状腺结节",
    "E04.102": "甲状腺囊肿",
    "E11.900": "2型糖尿病",
    "E14.900x001": "糖尿病",
    "E72.101": "高同型半胱氨酸血症",
    "E78.500": "高脂血症",
    "E87.600": "低钾血症",
    "I10.x00x023": "高血压病1级（高危）",
    "I10.x00x024": "高血压病1级（极高危）",
    "I10.x00x027": "高血压病2级（高危）",
    "I10.x00x028": "高血压病2级（极高危）",
    "I10.x00x031": "高血压病3级（高危）",
    "I10.x00x032": "高血压病3级（极高危）",
    "I20.000": "不稳定型心绞痛",
    "I25.102": "冠状动脉粥样硬化",
    "I25.103": "冠状动脉粥样硬化性心脏病",
    "I25.200": "陈旧性心肌梗死",
    "I31.800x004": "心包积液",
    "I38.x01": "心脏瓣膜病",
    "I48.x01": "心房颤动",
    "I48.x02": "阵发性心房颤动",
    "I49.100x001": "房性期前收缩[房性早搏]",
    "I49.100x002": "频发性房性期前收缩",
    "I49.300x001": "频发性室性期前收缩",
    "I49.300x002": "室性期前收缩",
    "I49.400x002": "偶发房室性期前收缩",
    "I49.400x003": "频发性期前收缩",
    "I49.900": "心律失常",
    "I50.900x007": "心功能Ⅱ级(NYHA分级)",
    "I50.900x008": "心功能III级(NYHA分级)",
    "I50.900x010": "心功能IV级(NYHA分级)",
    "I50.900x014": "KillipII级",
    "I50.900x015": "KillipIII级",
    "I50.900x016": "KillipIV级",
    "I50.900x018": "慢性心功能不全急性加重",
    "I50.907": "急性心力衰竭",
    "I63.900": "脑梗死",
    "I67.200x011": "脑动脉粥样硬化",
    "I69.300x002": "陈旧性脑梗死",
    "I70.203": "下肢动脉粥样硬化",
    "I70.806": "颈动脉硬化",
    "J18.900": "肺炎",
    "J98.414": "肺部感染",
    "K76.000": "脂肪肝",
    "K76.807": "肝囊肿",
    "N19.x00x002": "肾功能不全",
    "N28.101": "单纯性肾囊肿",
    "Q24.501": "冠状动脉肌桥",
    "R42.x00x004": "头晕",
    "R91.x00x003": "肺诊断性影像异常",
    "Z95.501": "冠状动脉支架植入后状态",
    "Z98.800x612": "乳腺术后",
}


def all_codes() -> dict[str, str]:
    """Every label code with its name."""
    return {**OTHER, **PRINCIPAL}
