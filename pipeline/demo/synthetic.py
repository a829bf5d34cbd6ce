"""Seeded generator of synthetic Chinese discharge records (EMRs) for the demo database.

Every sentence here is the project's own wording; no text of the competition records is used.
Labels come from the task's label space, and each record's text is built from its labels so that
diagnoses, history, vital signs, laboratory values, examinations and drugs agree with the codes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS

_HT3, _UA, _MVA, _NSTEMI, _HF = "I10.x00x032", "I20.000", "I20.800x007", "I21.401", "I50.900x018"
_PRINCIPALS: tuple[str, ...] = (_HT3, _UA, _MVA, _NSTEMI, _HF)

_HT_GRADES = ("I10.x00x023", "I10.x00x024", "I10.x00x027", "I10.x00x028", "I10.x00x031", _HT3)
_NYHA = ("I50.900x007", "I50.900x008", "I50.900x010")
_KILLIP = ("I50.900x014", "I50.900x015", "I50.900x016")
_DM = ("E11.900", "E14.900x001")
_AF = ("I48.x01", "I48.x02")
_BEATS = ("I49.100x001", "I49.100x002", "I49.300x001", "I49.300x002", "I49.400x002", "I49.400x003")

# At most one code of each group per record (a principal counts as a member of its group).
_EXCLUSIVE: tuple[tuple[str, ...], ...] = (
    _HT_GRADES,
    _DM,
    _NYHA + _KILLIP,
    _AF,
    ("I49.100x001", "I49.100x002", "I49.400x002", "I49.400x003"),
    ("I49.300x001", "I49.300x002", "I49.400x002", "I49.400x003"),
    ("I25.102", "I25.103"),
    ("I63.900", "I69.300x002"),
    ("J18.900", "J98.414"),
    ("E04.101", "E04.102"),
    (_HF, "I50.907"),
)

_COMMON_POOL: dict[str, float] = {
    "E78.500": 6,
    "E11.900": 5,
    "E14.900x001": 1,
    "I70.806": 4,
    "I70.203": 3,
    "K76.000": 3,
    "R91.x00x003": 4,
    "I49.900": 2.5,
    "I49.300x002": 2,
    "I49.300x001": 1,
    "I49.100x001": 1,
    "I49.100x002": 0.8,
    "I49.400x002": 0.6,
    "I49.400x003": 0.6,
    "E04.101": 2,
    "E04.102": 0.8,
    "K76.807": 1.5,
    "N28.101": 1.5,
    "E72.101": 1,
    "I67.200x011": 1,
    "I69.300x002": 1.5,
    "I63.900": 0.5,
    "N19.x00x002": 1,
    "E87.600": 1,
    "J18.900": 0.7,
    "J98.414": 0.7,
    "Z98.800x612": 0.5,
    "I31.800x004": 0.4,
    "I38.x01": 0.5,
}


@dataclass(frozen=True)
class _Profile:
    core: tuple[tuple[tuple[str, ...], float], ...]  # (alternatives, probability), tried first
    extra: dict[str, float]  # added to / overriding the common pool weights
    banned: tuple[str, ...] = ()
    ht_prob: float = 0.7  # chance of a hypertension grade among the others


_NOT_MI = ("I50.900x018", "I20.000", "I50.907") + _KILLIP
_PROFILES: dict[str, _Profile] = {
    _HT3: _Profile(
        core=((("E78.500",), 0.35), (("R42.x00x004",), 0.35)),
        extra={
            "R42.x00x004": 3,
            "I67.200x011": 2,
            "I63.900": 1.5,
            "E87.600": 1.5,
            "N19.x00x002": 1.5,
            "I25.102": 1,
            "I25.103": 1.5,
            "I50.900x007": 0.5,
        },
        banned=_NOT_MI + ("Z95.501", "I25.200", "I50.900x008", "I50.900x010"),
        ht_prob=0.0,
    ),
    _UA: _Profile(
        core=((("I25.103",), 0.85),),
        extra={"Z95.501": 2.5, "I25.200": 2.5, "I50.900x007": 0.7, "I50.900x008": 0.3, "I48.x02": 0.7},
        banned=_NOT_MI + ("I25.102", "I50.900x010", "Q24.501"),
    ),
    _MVA: _Profile(
        core=((("I25.102", "Q24.501"), 0.35),),
        extra={"I25.102": 3, "Q24.501": 3, "R42.x00x004": 1},
        banned=_NOT_MI
        + (
            "I25.103",
            "Z95.501",
            "I25.200",
            "I50.900x008",
            "I50.900x010",
            "I50.900x007",
            "I38.x01",
            "I31.800x004",
            "N19.x00x002",
        ),
        ht_prob=0.55,
    ),
    _NSTEMI: _Profile(
        core=((("I25.103",), 0.9), (_KILLIP, 0.45)),
        extra={"I50.907": 2.5, "Z95.501": 1.5, "I25.200": 1.5, "E87.600": 1.5, "I50.900x018": 0.4, "I48.x01": 0.6},
        banned=("I20.000", "I25.102", "Q24.501") + _NYHA,
    ),
    _HF: _Profile(
        core=((_NYHA, 0.75), (("I25.103",), 0.5), (_AF, 0.35)),
        extra={
            "I20.000": 2.5,
            "I25.200": 2,
            "I38.x01": 2,
            "I31.800x004": 1.5,
            "N19.x00x002": 2,
            "J18.900": 1.5,
            "J98.414": 1.5,
            "Z95.501": 1,
            "I49.900": 3,
            "I48.x01": 2,
            "I48.x02": 1,
        },
        banned=_KILLIP + ("I25.102", "Q24.501", "I50.907", "I63.900"),
    ),
}
_HT_WEIGHTS = {"I10.x00x023": 0.7, "I10.x00x024": 1.5, "I10.x00x027": 1, "I10.x00x028": 4, "I10.x00x031": 1, _HT3: 5}
_N_OTHER_WEIGHTS = (2, 4, 5, 4, 3, 2, 1)  # for 1..7 other codes

# Diagnosis wordings, as doctors write them in 入院诊断.
_DX: dict[str, tuple[str, ...]] = {
    "E04.101": ("甲状腺结节", "甲状腺多发结节"),
    "E04.102": ("甲状腺囊肿",),
    "E11.900": ("2型糖尿病", "糖尿病（2型）"),
    "E14.900x001": ("糖尿病",),
    "E72.101": ("高同型半胱氨酸血症",),
    "E78.500": ("高脂血症", "高脂血症"),
    "E87.600": ("低钾血症",),
    "I10.x00x023": ("高血压病1级（高危）", "高血压1级 高危组"),
    "I10.x00x024": ("高血压病1级（极高危）", "高血压病1级（很高危）"),
    "I10.x00x027": ("高血压病2级（高危）", "高血压2级 高危组"),
    "I10.x00x028": ("高血压病2级（极高危）", "高血压病2级（很高危）", "高血压2级 很高危组"),
    "I10.x00x031": ("高血压病3级（高危）", "高血压3级 高危组"),
    _HT3: ("高血压病3级（极高危）", "高血压病3级（很高危）", "高血压3级 极高危组", "原发性高血压 3级 很高危"),
    _UA: ("不稳定型心绞痛", "不稳定性心绞痛"),
    _MVA: ("微血管性心绞痛", "微血管型心绞痛", "心脏X综合征（微血管性心绞痛）"),
    _NSTEMI: ("急性非ST段抬高型心肌梗死", "急性非ST段抬高性心肌梗死", "急性冠脉综合征 急性非ST段抬高型心肌梗死"),
    _HF: ("慢性心功能不全急性加重", "慢性心力衰竭急性加重", "慢性心功能不全急性失代偿"),
    "I25.102": ("冠状动脉粥样硬化", "冠脉粥样硬化"),
    "I25.103": ("冠状动脉粥样硬化性心脏病", "冠心病"),
    "I25.200": ("陈旧性心肌梗死", "陈旧性下壁心肌梗死", "陈旧性前壁心肌梗死"),
    "I31.800x004": ("心包积液（少量）", "心包积液"),
    "I38.x01": ("心脏瓣膜病", "心脏瓣膜病 二尖瓣关闭不全（中度）", "退行性心脏瓣膜病"),
    "I48.x01": ("心房颤动", "持续性房颤"),
    "I48.x02": ("阵发性心房颤动", "阵发性房颤"),
    "I49.100x001": ("房性期前收缩", "房性早搏"),
    "I49.100x002": ("频发性房性期前收缩", "频发房性早搏"),
    "I49.300x001": ("频发性室性期前收缩", "频发室性早搏"),
    "I49.300x002": ("室性期前收缩", "室性早搏"),
    "I49.400x002": ("偶发房室性期前收缩", "偶发房性及室性早搏"),
    "I49.400x003": ("频发性期前收缩", "频发早搏"),
    "I49.900": ("心律失常",),
    "I50.900x007": ("心功能Ⅱ级（NYHA分级）", "心功能II级", "NYHA II级"),
    "I50.900x008": ("心功能Ⅲ级（NYHA分级）", "心功能III级", "NYHA III级"),
    "I50.900x010": ("心功能Ⅳ级（NYHA分级）", "心功能IV级", "NYHA IV级"),
    "I50.900x014": ("Killip II级", "KillipⅡ级"),
    "I50.900x015": ("Killip III级", "KillipⅢ级"),
    "I50.900x016": ("Killip IV级", "KillipⅣ级"),
    "I50.907": ("急性心力衰竭", "急性左心衰竭"),
    "I63.900": ("脑梗死", "急性脑梗死"),
    "I67.200x011": ("脑动脉粥样硬化", "脑动脉硬化"),
    "I69.300x002": ("陈旧性脑梗死", "脑梗死后遗症期"),
    "I70.203": ("下肢动脉粥样硬化", "双下肢动脉粥样硬化"),
    "I70.806": ("颈动脉硬化", "双侧颈动脉硬化伴斑块形成"),
    "J18.900": ("肺炎", "社区获得性肺炎"),
    "J98.414": ("肺部感染",),
    "K76.000": ("脂肪肝", "轻度脂肪肝"),
    "K76.807": ("肝囊肿",),
    "N19.x00x002": ("肾功能不全",),
    "N28.101": ("单纯性肾囊肿", "肾囊肿"),
    "Q24.501": ("冠状动脉肌桥", "冠状动脉肌桥（前降支）"),
    "R42.x00x004": ("头晕",),
    "R91.x00x003": ("肺结节", "双肺多发结节", "肺诊断性影像异常"),
    "Z95.501": ("冠状动脉支架植入后状态", "冠脉支架植入术后", "PCI术后"),
    "Z98.800x612": ("乳腺术后", "右乳腺术后"),
}

_VESSELS = ("前降支", "回旋支", "右冠状动脉")
_WHO = ("患者", "病人")  # records never name the patient


@dataclass
class _Case:
    rid: str
    main: str
    others: list[str]
    sex: str
    age: int
    v: dict[str, float | int | str] = field(default_factory=dict)  # vitals and labs

    def has(self, *codes: str) -> bool:
        return self.main in codes or any(c in self.others for c in codes)

    def first(self, codes: tuple[str, ...]) -> str | None:
        return next((c for c in codes if self.has(c)), None)


# ---------------------------------------------------------------- labels


def _conflicts(code: str, chosen: list[str]) -> bool:
    return any(code in g and any(c in g for c in chosen) for g in _EXCLUSIVE)


def _draw_others(rng: random.Random, main: str, sex: str) -> list[str]:
    prof = _PROFILES[main]
    banned = set(prof.banned) | {main} | ({"Z98.800x612"} if sex == "男" else set())
    target = rng.choices(range(1, 8), weights=_N_OTHER_WEIGHTS)[0]
    chosen: list[str] = [main]

    def add(code: str) -> None:
        if code not in banned and code not in chosen and not _conflicts(code, chosen):
            chosen.append(code)

    if rng.random() < prof.ht_prob:
        grades = [g for g in _HT_GRADES if g not in banned]
        add(rng.choices(grades, weights=[_HT_WEIGHTS[g] for g in grades])[0])
    for alts, p in prof.core:
        if rng.random() < p:
            add(rng.choice(alts))
    pool = {**_COMMON_POOL, **prof.extra}
    codes = [c for c in pool if c not in banned]
    while len(chosen) - 1 < target:
        weights = [0.0 if c in chosen or _conflicts(c, chosen) else pool[c] for c in codes]
        if not any(weights):
            break
        add(rng.choices(codes, weights=weights)[0])
    return chosen[1:8]


# ---------------------------------------------------------------- numbers


def _vitals(rng: random.Random, c: _Case) -> None:
    v = c.v
    ht = c.first(_HT_GRADES)
    killip4 = c.has("I50.900x016")
    grade = {"I10.x00x023": 1, "I10.x00x024": 1, "I10.x00x027": 2, "I10.x00x028": 2}.get(ht or "", 3)
    v["max_sbp"] = rng.randint(*{1: (142, 158), 2: (162, 178), 3: (186, 230)}[grade])
    v["max_dbp"] = rng.randint(*{1: (90, 98), 2: (100, 108), 3: (104, 128)}[grade])
    if c.main == _HT3:
        v["sbp"], v["dbp"] = rng.randint(182, 218), rng.randint(98, 124)
        v["max_sbp"], v["max_dbp"] = max(v["max_sbp"], v["sbp"]), max(v["max_dbp"], v["dbp"])
    elif killip4:
        v["sbp"], v["dbp"] = rng.randint(76, 88), rng.randint(44, 56)
    elif ht:  # treated hypertension: never above the grade's own highest reading
        v["sbp"], v["dbp"] = rng.randint(128, v["max_sbp"] - 4), rng.randint(72, v["max_dbp"] - 3)
    else:
        v["sbp"], v["dbp"] = rng.randint(106, 134), rng.randint(62, 84)
    af = c.has("I48.x01") or (c.has("I48.x02") and rng.random() < 0.4)
    v["af_now"] = int(af)
    if af:
        v["hr"] = rng.randint(96, 136)
    elif c.main == _HF:
        v["hr"] = rng.randint(86, 116)
    elif c.main == _NSTEMI:
        v["hr"] = rng.randint(68, 104)
    else:
        v["hr"] = rng.randint(60, 92)
    infection = c.has("J18.900", "J98.414")
    v["t"] = round(rng.uniform(37.6, 38.7), 1) if infection else round(rng.uniform(36.2, 36.9), 1)
    congested = c.main == _HF or c.has("I50.907", "I50.900x015", "I50.900x016")
    v["rr"] = rng.randint(22, 28) if congested else rng.randint(16, 20)
    v["wbc"] = round(rng.uniform(10.6, 15.8), 2) if infection else round(rng.uniform(4.6, 8.9), 2)
    v["tni"] = round(rng.uniform(0.42, 18.5), 2) if c.main == _NSTEMI else round(rng.uniform(0.003, 0.028), 3)
    v["ckmb"] = round(rng.uniform(28, 146), 1) if c.main == _NSTEMI else round(rng.uniform(6, 19), 1)
    if c.main == _HF:
        v["bnp"] = rng.randint(680, 4800)
    elif c.main == _NSTEMI and c.has("I50.907", "I50.900x015", "I50.900x016", "I50.900x014"):
        v["bnp"] = rng.randint(420, 1800)
    else:
        v["bnp"] = rng.randint(16, 96)
    v["lvef"] = {
        _HF: rng.randint(25, 46),
        _NSTEMI: rng.randint(41, 58),
        _UA: rng.randint(52, 66),
        _MVA: rng.randint(58, 70),
        _HT3: rng.randint(56, 68),
    }[c.main]
    v["k"] = round(rng.uniform(2.86, 3.41), 2) if c.has("E87.600") else round(rng.uniform(3.62, 4.85), 2)
    v["cr"] = rng.randint(142, 318) if c.has("N19.x00x002") else rng.randint(52, 98)
    v["ldl"] = round(rng.uniform(3.6, 5.1), 2) if c.has("E78.500") else round(rng.uniform(1.9, 3.3), 2)
    v["tg"] = round(rng.uniform(2.1, 4.6), 2) if c.has("E78.500") else round(rng.uniform(0.8, 1.6), 2)
    v["hba1c"] = round(rng.uniform(7.1, 9.8), 1) if c.has(*_DM) else round(rng.uniform(5.2, 6.0), 1)
    v["glu"] = round(rng.uniform(7.4, 11.8), 1) if c.has(*_DM) else round(rng.uniform(4.5, 5.9), 1)
    v["hcy"] = round(rng.uniform(18.5, 41.0), 1) if c.has("E72.101") else round(rng.uniform(7.8, 13.9), 1)
    v["spo2"] = rng.randint(88, 94) if congested else rng.randint(96, 99)


def _dur(rng: random.Random, lo: int, hi: int, unit: str) -> str:
    return f"{rng.randint(lo, hi)}{unit}{rng.choice(('', '余', ''))}"


def _years(rng: random.Random, c: _Case, lo: int, hi: int) -> str:
    """A history duration in years that the patient's age allows."""
    return _dur(rng, lo, max(lo, min(hi, c.age - 30)), "年")


# ---------------------------------------------------------------- sections


# (long, short) duration ranges per principal: the course of the illness and the recent change.
_DURATIONS: dict[str, tuple[tuple[int, int, str], tuple[int, int, str]]] = {
    _HT3: ((2, 15, "年"), (1, 10, "天")),
    _UA: ((1, 11, "个月"), (2, 10, "天")),
    _MVA: ((2, 11, "个月"), (1, 3, "周")),
    _NSTEMI: ((2, 7, "天"), (3, 20, "小时")),
    _HF: ((2, 10, "年"), (3, 10, "天")),
}


def _complaint(rng: random.Random, c: _Case) -> str:
    L, S, v = c.v["long"], c.v["short"], c.v
    options = {
        _HT3: (
            f"发现血压升高{L}，头晕{S}",
            f"头痛、头晕{S}，血压升高至{v['sbp']}/{v['dbp']}mmHg",
            f"血压控制不佳{L}，加重伴头胀{S}",
        ),
        _UA: (f"发作性胸痛{L}，加重{S}", f"反复胸闷{L}，再发加重{S}", f"活动后胸骨后压榨感{L}，静息时发作{S}"),
        _MVA: (f"活动后胸闷{L}", f"间断胸痛{L}，加重{S}", f"劳累后心前区闷痛{L}"),
        _NSTEMI: (f"持续性胸痛{S}", f"突发胸痛伴大汗{S}", f"胸闷{L}，加重伴胸痛{S}"),
        _HF: (
            f"反复胸闷、气短{L}，加重伴双下肢水肿{S}",
            f"活动后喘憋{L}，加重{S}，夜间不能平卧",
            f"心衰病史{L}，气促加重{S}",
        ),
    }[c.main]
    return rng.choice(options)


_NEG_SYMPTOMS = (
    "无发热、咳嗽",
    "无恶心、呕吐",
    "无晕厥、黑矇",
    "无腹痛、腹泻",
    "无肢体活动障碍",
    "无咯血",
    "无视物旋转",
)


def _negatives(rng: random.Random, c: _Case) -> str:
    clash = {
        "无发热、咳嗽": c.has("J18.900", "J98.414"),
        "无肢体活动障碍": c.has("I63.900"),
        "无视物旋转": False,
        "无恶心、呕吐": c.main == _NSTEMI,
    }
    pool = [s for s in _NEG_SYMPTOMS if not clash.get(s, False)]
    return "，".join(rng.sample(pool, rng.randint(2, 4)))


def _present_illness(rng: random.Random, c: _Case) -> str:
    m, v, L, S = c.main, c.v, c.v["long"], c.v["short"]
    who = rng.choice(_WHO)
    if m == _HT3:
        body = rng.choice(
            (
                (
                    f"{who}{L}前体检时发现血压升高，最高达{v['max_sbp']}/{v['max_dbp']}mmHg，服药不规律，"
                    f"血压控制欠佳。{S}前情绪激动后出现头晕、头胀，伴颈部发紧，自测血压{v['sbp']}/{v['dbp']}mmHg"
                ),
                (
                    f"{who}患高血压{L}，近{rng.randint(1, 3)}个月自行停用降压药。{S}前无明显诱因出现枕部胀痛、头晕，"
                    f"休息后不能缓解，社区测血压{v['sbp']}/{v['dbp']}mmHg"
                ),
            )
        )
        body += "，无胸痛，无肢体麻木及言语不清"
    elif m == _UA:
        body = rng.choice(
            (
                (
                    f"{who}{L}前快步行走后出现胸骨后闷痛，范围约手掌大小，可放射至左肩背部，持续3-5分钟，"
                    f"休息后缓解。近{S}发作较前频繁，轻微活动甚至静息时亦有发作，每次持续10-20分钟，"
                    f"含服硝酸甘油后可缓解"
                ),
                (
                    f"{who}{L}来反复出现胸闷、胸痛，多于劳累后发作，呈压榨样，伴出汗。"
                    f"{S}前夜间静息时再发，持续约{rng.randint(10, 25)}分钟，程度较前加重"
                ),
            )
        )
    elif m == _MVA:
        body = rng.choice(
            (
                (
                    f"{who}{L}前爬楼或劳累后出现胸闷，伴气短，持续约{rng.randint(5, 20)}分钟，休息后逐渐缓解，"
                    f"含服硝酸甘油效果欠佳，症状与情绪波动相关。近{S}发作次数增多"
                ),
                (
                    f"{who}近{L}间断出现心前区闷痛，多在活动中或活动后出现，每次持续十余分钟，"
                    f"曾行心电图提示ST-T改变，未系统诊治"
                ),
            )
        )
    elif m == _NSTEMI:
        body = rng.choice(
            (
                f"{who}{S}前无明显诱因出现胸骨后压榨样疼痛，伴大汗、乏力，持续不缓解，含服硝酸甘油无明显效果",
                f"{who}近{L}反复胸闷，{S}前症状加重，出现持续性胸痛，向左上肢放射，伴恶心、出汗",
            )
        )
        body += f"。急诊查肌钙蛋白I {v['tni']}ng/mL，心电图未见ST段抬高"
        if c.has("I50.907", "I50.900x015", "I50.900x016"):
            body += "，伴呼吸困难、不能平卧，咳粉红色泡沫痰"
    else:
        worse = {
            "I50.900x007": "爬两层楼即感气促",
            "I50.900x008": "平地行走数十米即感气促，夜间阵发性呼吸困难",
            "I50.900x010": "休息时亦感喘憋，不能平卧",
        }.get(c.first(_NYHA) or "", "稍活动即感气促")
        body = rng.choice(
            (
                (
                    f"{who}{L}前开始出现活动后胸闷、气短，诊断为“慢性心力衰竭”，长期服药治疗。{S}前受凉后症状加重，"
                    f"{worse}，伴双下肢水肿、尿量减少"
                ),
                (
                    f"{who}有心功能不全病史{L}，平素可从事轻体力活动。近{S}气短明显加重，{worse}，"
                    f"伴腹胀、纳差及双下肢凹陷性水肿"
                ),
            )
        )
        body += f"。门诊查BNP {v['bnp']}pg/mL"
        if c.has("I20.000"):
            body += "；近期另有静息状态下胸骨后疼痛发作，持续十余分钟"
    if c.has("J18.900", "J98.414"):
        body += f"；病程中伴咳嗽、咳黄痰，最高体温{v['t']}℃"
    if c.has("R42.x00x004") and m != _HT3:
        body += "；伴间断头晕，无视物旋转"
    if c.has("I63.900"):
        body += f"；入院前1天出现{rng.choice(('左', '右'))}侧肢体麻木、乏力"
    if v["af_now"] or c.has("I49.900", *_BEATS):
        body += "；自觉心悸不适"
    body += f"，{_negatives(rng, c)}。"
    tail = rng.choice(
        (
            f"今为求进一步诊治来院，门诊以“{_pick_dx(rng, m)}”收入院。",
            f"为系统诊治入院，门诊拟“{_pick_dx(rng, m)}”收住。",
        )
    )
    tail += rng.choice(
        (
            "病来精神、食欲欠佳，睡眠一般，二便如常，体重无明显变化。",
            "自发病以来饮食、睡眠尚可，大小便正常，体重无明显改变。",
        )
    )
    return body + tail


def _pick_dx(rng: random.Random, code: str) -> str:
    return rng.choice(_DX[code])


def _past_history(rng: random.Random, c: _Case) -> str:
    v, parts = c.v, []
    ht = c.first(_HT_GRADES)
    if ht:
        drug = rng.choice(("苯磺酸氨氯地平片", "缬沙坦胶囊", "硝苯地平控释片", "厄贝沙坦片", "培哚普利片"))
        years = c.v["long"] if c.main == _HT3 else _years(rng, c, 2, 25)
        parts.append(
            f"“高血压病”史{years}，最高血压{v['max_sbp']}/{v['max_dbp']}mmHg，"
            f"平素口服“{drug}”，血压控制{rng.choice(('欠佳', '不详', '一般'))}"
        )
    if c.has(*_DM):
        parts.append(f"“糖尿病”史{_years(rng, c, 1, 15)}，口服“二甲双胍”，空腹血糖控制在{rng.randint(7, 9)}mmol/L左右")
    if c.has("E78.500"):
        parts.append(f"发现血脂升高{_years(rng, c, 1, 6)}，间断服用他汀类药物")
    if c.has("I25.200"):
        parts.append(f"{_years(rng, c, 2, 10)}前患“急性心肌梗死”，经治疗好转")
    if c.has("Z95.501"):
        parts.append(
            f"{_years(rng, c, 1, 8)}前因冠心病行冠状动脉支架植入术，"
            f"植入支架{rng.randint(1, 3)}枚，术后规律服用抗血小板药物"
        )
    if c.has("I25.103") and c.main in (_HF, _HT3):
        parts.append(f"“冠心病”史{_years(rng, c, 2, 12)}")
    if c.has(_HF) and c.main != _HF:
        parts.append(f"“慢性心功能不全”史{_years(rng, c, 1, 8)}，近期活动耐量明显下降")
    if c.has(*_AF):
        parts.append(f"发现“心房颤动”{_years(rng, c, 1, 6)}，{rng.choice(('未规律抗凝', '服用利伐沙班抗凝'))}")
    if c.has("I69.300x002"):
        parts.append(f"{_years(rng, c, 2, 10)}前患“脑梗死”，遗留{rng.choice(('左侧', '右侧'))}肢体轻度乏力")
    if c.has("N19.x00x002"):
        parts.append(f"发现肌酐升高{_years(rng, c, 1, 5)}")
    if c.has("Z98.800x612"):
        parts.append(f"{_years(rng, c, 3, 20)}前行乳腺手术，术后恢复可")
    if c.has("E04.101", "E04.102") and rng.random() < 0.5:
        parts.append("体检发现甲状腺占位，未治疗")
    negatable = [
        ("高血压", bool(ht)),
        ("糖尿病", c.has(*_DM)),
        ("冠心病", c.has("I25.103", "I25.200", "Z95.501")),
        ("脑梗死", c.has("I63.900", "I69.300x002")),
        ("慢性肾病", c.has("N19.x00x002")),
    ]
    neg = [name for name, present in negatable if not present]
    lead = rng.choice(("既往", "平素健康状况一般，", "既往体质一般，"))
    text = lead + ("；".join(parts) + "。" if parts else "体健。")
    if neg:
        text += f"否认{'、'.join(rng.sample(neg, min(len(neg), rng.randint(2, 3))))}病史。"
    text += rng.choice(
        (
            "否认肝炎、结核等传染病史，否认重大外伤及输血史，否认药物、食物过敏史，预防接种史不详。",
            "否认传染病史，否认手术外伤史（上述除外），否认输血史，未发现药物过敏。",
            "无肝炎、结核病史，无输血史，无已知药物及食物过敏史。",
        )
    )
    return text


def _personal(rng: random.Random, c: _Case) -> str:
    s = rng.choice(("生于本地，久居当地", "出生并长期居住于原籍", "生长于本市"))
    s += "，否认疫区、疫水接触史，否认工业毒物、粉尘及放射性物质接触史。"
    if c.sex == "男" and rng.random() < 0.55:
        quit_ = rng.choice(("未戒", f"已戒烟{rng.randint(1, 5)}年"))
        s += f"吸烟史{rng.randint(10, 40)}年，平均每日{rng.choice((10, 15, 20, 30))}支，{quit_}。"
    else:
        s += "否认吸烟史。"
    if c.sex == "男" and rng.random() < 0.35:
        s += f"饮酒{rng.randint(5, 30)}年，每日约白酒{rng.choice((1, 2, 3))}两。"
    else:
        s += rng.choice(("偶有少量饮酒。", "否认饮酒史。"))
    return s


def _marital(rng: random.Random, c: _Case) -> str:
    sons, daughters = rng.randint(0, 2), rng.randint(0, 2)
    s = f"{rng.randint(21, 30)}岁结婚，"
    if sons + daughters:
        s += "育有" + (f"{sons}子" if sons else "") + (f"{daughters}女" if daughters else "") + "，"
        s += rng.choice(("配偶及子女体健。", "配偶体健，子女均健康。", "配偶已故，子女体健。"))
    else:
        s += "未育，配偶体健。"
    if c.sex == "女":
        if c.age >= 52:
            s += f"月经史：{rng.randint(12, 16)}岁初潮，{rng.randint(47, 53)}岁绝经，绝经后无异常阴道出血。"
        else:
            s += f"月经规律，周期{rng.randint(26, 32)}天，经期{rng.randint(4, 7)}天。"
    return s


def _family(rng: random.Random, c: _Case) -> str:
    rel = rng.choice(("父亲", "母亲", "一兄", "一姐"))
    dis = rng.choice(("高血压病", "冠心病", "糖尿病", "脑梗死"))
    return rng.choice(
        (
            f"{rel}患“{dis}”，余家族成员体健，否认家族遗传病史。",
            "父母已故，死因不详；兄弟姐妹体健。否认家族性遗传病及传染病史。",
            f"{rel}有“{dis}”病史，否认其他家族遗传性疾病史。",
            "否认家族中类似疾病史，否认遗传病史。",
        )
    )


def _exam(rng: random.Random, c: _Case) -> str:
    v = c.v
    s = (
        f"T {v['t']}℃，P {v['hr']}次/分，R {v['rr']}次/分，BP {v['sbp']}/{v['dbp']}mmHg。"
        f"神志清，{rng.choice(('精神可', '精神稍差', '急性病容'))}。"
    )
    wet = c.main == _HF or c.has("I50.907", "I50.900x015", "I50.900x016")
    if wet:
        s += rng.choice(("颈静脉充盈，", "半卧位，口唇轻度发绀，"))
        s += f"双肺{rng.choice(('底', '中下野'))}可闻及湿性啰音，未吸氧下血氧饱和度{v['spo2']}%。"
    elif c.has("J18.900", "J98.414"):
        s += f"{rng.choice(('右', '左'))}下肺可闻及少许湿啰音。"
    else:
        s += "双肺呼吸音清，未闻及干、湿性啰音。"
    if v["af_now"]:
        apex = v["hr"] + rng.randint(4, 14)  # pulse deficit: the apex counts more beats than the pulse
        s += f"心界{rng.choice(('向左下扩大', '不大'))}，心率{apex}次/分，心律绝对不齐，第一心音强弱不等。"
    else:
        s += f"心界不大，心率{v['hr']}次/分，律{'不齐，可闻及早搏' if c.has(*_BEATS) else '齐'}。"
    s += "心尖区可闻及3/6级收缩期吹风样杂音。" if c.has("I38.x01") else "各瓣膜听诊区未闻及病理性杂音。"
    s += "腹软，无压痛，肝脾肋下未触及。"
    if c.main == _HF:
        s += f"双下肢{rng.choice(('中度', '重度', '轻度'))}凹陷性水肿。"
    elif c.has("I50.900x016"):
        s += "四肢湿冷，双下肢无水肿。"
    else:
        s += "双下肢无水肿。"
    return s


def _admission(rng: random.Random, c: _Case, complaint: str) -> str:
    v = c.v
    s = rng.choice(
        (f"{c.sex}性，{c.age}岁，因“{complaint}”入院。", f"患者{c.age}岁{c.sex}性，以“{complaint}”为主诉入院。")
    )
    s += "查体：" + _exam(rng, c)
    aux = [f"{rng.choice(('心电图', '急诊心电图', '床旁心电图'))}示{_ecg(rng, c)}"]
    if c.main == _NSTEMI:
        aux.append(f"肌钙蛋白I {v['tni']}ng/mL（参考值<0.034），CK-MB {v['ckmb']}U/L")
    else:
        aux.append(f"肌钙蛋白I {v['tni']}ng/mL")
    if c.main == _HF or v["bnp"] > 100 or rng.random() < 0.4:
        aux.append(f"BNP {v['bnp']}pg/mL")
    aux.append(f"血钾 {v['k']}mmol/L")
    return s + "辅助检查：" + "；".join(aux) + "。"


def _ecg(rng: random.Random, c: _Case) -> str:
    rhythm = "心房颤动" if c.v["af_now"] else rng.choice(("窦性心律", "窦性心律"))
    if c.main == _NSTEMI:
        leads = rng.choice(("V4-V6", "II、III、aVF", "I、aVL、V5、V6"))
        depth = rng.choice(("0.1", "0.15", "0.2", "0.3"))
        st = f"{leads}导联ST段{rng.choice(('压低', '水平型下移'))}{depth}mV伴T波倒置，未见ST段抬高"
    elif c.main == _UA:
        st = f"胸痛发作时{rng.choice(('V1-V4', 'V3-V6', 'II、III、aVF'))}导联ST段压低，T波低平，症状缓解后部分恢复"
    elif c.main == _MVA:
        st = rng.choice(("ST-T改变（T波低平）", "大致正常心电图", "下壁导联T波低平"))
    elif c.main == _HT3:
        st = rng.choice(("左心室高电压伴ST-T改变", "左室肥厚伴劳损", "ST-T改变"))
    else:
        st = rng.choice(("ST-T改变", "左心室肥大，ST-T改变", "肢体导联低电压，ST-T改变"))
    if c.has("I25.200"):
        st += f"，{rng.choice(('II、III、aVF', 'V1-V3'))}导联可见病理性Q波"
    return f"{rhythm}，{st}"


def _cag(rng: random.Random, c: _Case) -> str:
    """Coronary angiography (or CTA) findings consistent with the principal, '' when none done."""
    if c.main == _MVA:
        s = "冠脉造影：左主干、前降支、回旋支及右冠状动脉未见明显狭窄，TIMI血流3级"
        if c.has("I25.102"):
            s = (
                f"冠脉造影：{rng.choice(_VESSELS)}近段可见斑块，管腔狭窄约{rng.choice((20, 30))}%，"
                "余血管未见明显狭窄，TIMI血流3级"
            )
        if c.has("Q24.501"):
            s += f"；前降支中段可见心肌桥，收缩期压缩约{rng.choice((30, 40, 50))}%"
        return s + "。结论：冠状动脉未见有意义狭窄"
    if c.main in (_UA, _NSTEMI):
        culprit = rng.choice(_VESSELS)
        rest = [x for x in _VESSELS if x != culprit]
        sten = rng.choice((99, 95, 90, "次全闭塞")) if c.main == _NSTEMI else rng.choice((75, 80, 85, 90))
        sten_s = sten if isinstance(sten, str) else f"狭窄约{sten}%"
        s = (
            f"冠脉造影：{culprit}{rng.choice(('近段', '中段', '近中段'))}{sten_s}，"
            f"{rest[0]}弥漫斑块、狭窄约{rng.choice((30, 40, 50))}%，{rest[1]}未见明显狭窄"
        )
        if c.has("Z95.501"):
            s += "，原支架内通畅"
        if c.main == _NSTEMI or rng.random() < 0.7:
            s += f"。于{culprit}病变处植入药物洗脱支架{rng.randint(1, 2)}枚，术后TIMI血流3级"
        else:
            s += "。病变介于临界，建议强化药物治疗，择期评估"
        return s
    if c.has("I25.103"):
        return f"冠脉CTA：{rng.choice(_VESSELS)}中段混合斑块，管腔中度狭窄"
    if c.has("I25.102"):
        return "冠脉CTA：冠状动脉粥样硬化，管腔轻度狭窄"
    return ""


def _workup(rng: random.Random, c: _Case) -> str:
    v = c.v
    labs = [
        f"血常规：白细胞{v['wbc']}×10^9/L",
        f"肌酐{v['cr']}μmol/L，血钾{v['k']}mmol/L",
        f"LDL-C {v['ldl']}mmol/L，甘油三酯{v['tg']}mmol/L",
        f"糖化血红蛋白{v['hba1c']}%",
        f"空腹血糖{v['glu']}mmol/L",
    ]
    if c.main == _NSTEMI:
        labs.append(f"肌钙蛋白I峰值{round(v['tni'] * rng.uniform(1.2, 3.0), 2)}ng/mL")
    if c.main == _HF:
        labs.append(f"BNP {v['bnp']}pg/mL")
    if c.has("E72.101") or rng.random() < 0.3:
        labs.append(f"同型半胱氨酸{v['hcy']}μmol/L")
    exams = []
    echo = f"心脏超声：LVEF {v['lvef']}%"
    if c.main == _HF:
        echo += f"，左心{rng.choice(('扩大', '明显扩大'))}，室壁运动弥漫性减弱"
    elif c.main == _HT3:
        echo += f"，室间隔厚度{rng.choice((11, 12, 13))}mm，左室舒张功能减低"
    elif c.main == _NSTEMI:
        echo += "，节段性室壁运动异常"
    if c.has("I38.x01"):
        echo += "，二尖瓣中度反流"
    if c.has("I31.800x004"):
        echo += f"，心包腔内可见少量积液（最深约{rng.randint(4, 9)}mm）"
    exams.append(echo)
    if c.has(*_BEATS, "I49.900", "I48.x02"):
        holter = []
        if c.has("I48.x02"):
            holter.append("阵发性心房颤动")
        beat = c.first(_BEATS)
        if beat:
            holter.append(
                {
                    "I49.100x001": f"房性早搏{rng.randint(80, 900)}次",
                    "I49.100x002": f"频发房性早搏{rng.randint(2000, 9000)}次",
                    "I49.300x001": f"频发室性早搏{rng.randint(2000, 12000)}次",
                    "I49.300x002": f"室性早搏{rng.randint(60, 800)}次",
                    "I49.400x002": "偶发房性早搏及室性早搏",
                    "I49.400x003": f"频发房性及室性早搏，共{rng.randint(3000, 9000)}次",
                }[beat]
            )
        if not holter:
            holter.append(rng.choice(("短阵房性心动过速", "一度房室传导阻滞", "窦性心动过缓伴不齐")))
        exams.append("动态心电图：" + "，".join(holter))
    if c.has("I70.806"):
        exams.append("颈动脉超声：双侧颈动脉内中膜增厚伴多发斑块形成")
    if c.has("I70.203"):
        exams.append("下肢动脉超声：双下肢动脉粥样硬化伴斑块形成")
    head = []
    if c.has("I63.900"):
        head.append(f"{rng.choice(('左侧', '右侧'))}基底节区新发腔隙性梗死灶")
    if c.has("I69.300x002"):
        head.append("陈旧性梗死灶")
    if c.has("I67.200x011"):
        head.append("脑动脉粥样硬化改变")
    if head:
        exams.append(f"头颅{rng.choice(('MRI', 'CT'))}：" + "，".join(head))
    chest = []
    if c.has("J18.900", "J98.414"):
        chest.append(f"{rng.choice(('右', '左', '双'))}肺下叶斑片状渗出影，考虑炎症")
    if c.has("R91.x00x003"):
        chest.append(
            f"{rng.choice(('右肺上叶', '左肺下叶', '双肺'))}实性小结节（最大约{rng.randint(3, 7)}mm），建议随访"
        )
    if c.main == _HF or c.has("I50.907"):
        chest.append("双侧少量胸腔积液，肺淤血表现")
    if chest:
        exams.append("胸部CT：" + "，".join(chest))
    abd = []
    if c.has("K76.000"):
        abd.append("脂肪肝")
    if c.has("K76.807"):
        abd.append(f"肝内囊性占位（约{rng.randint(8, 25)}mm），考虑肝囊肿")
    if c.has("N28.101"):
        abd.append(f"{rng.choice(('左', '右'))}肾囊肿")
    if abd:
        exams.append("腹部超声：" + "，".join(abd))
    if c.has("E04.101"):
        exams.append(f"甲状腺超声：甲状腺{rng.choice(('左叶', '右叶', '双叶'))}结节，TI-RADS 3类")
    if c.has("E04.102"):
        exams.append("甲状腺超声：甲状腺囊性结节，考虑囊肿")
    if c.main == _HT3:
        exams.append("肾动脉超声未见狭窄，肾素、醛固酮及皮质醇检测未见明显异常")
    if c.main == _MVA:
        exams.append(
            rng.choice(
                (
                    "运动平板试验阳性：运动中V4-V6导联ST段水平型压低0.1-0.15mV，伴胸闷",
                    "冠脉血流储备分数检查提示微循环阻力增高",
                )
            )
        )
    cag = _cag(rng, c)
    if cag:
        exams.append(cag)
    return "；".join(labs) + "。" + "；".join(exams) + "。"


def _treatment(rng: random.Random, c: _Case) -> str:
    t = {
        _HT3: "给予静脉乌拉地尔控制血压，逐步过渡为口服钙通道阻滞剂联合ARB降压，监测血压平稳下降，同时调脂、改善循环",
        _UA: "给予双联抗血小板、低分子肝素抗凝、强化他汀调脂稳定斑块、硝酸酯类扩冠及β受体阻滞剂控制心率等治疗",
        _MVA: "给予尼可地尔、曲美他嗪改善心肌微循环及能量代谢，地尔硫䓬缓解血管痉挛，同时抗血小板、调脂治疗",
        _NSTEMI: "给予阿司匹林联合替格瑞洛负荷量双联抗血小板、低分子肝素抗凝、强化降脂，急诊行冠脉介入治疗",
        _HF: "给予呋塞米静脉利尿、沙库巴曲缬沙坦改善心室重构、达格列净及螺内酯等治疗，控制出入量，监测电解质",
    }[c.main]
    adds = []
    if c.has("I50.907") or c.has("I50.900x015", "I50.900x016"):
        adds.append("吸氧、静脉利尿减轻心脏负荷")
    if c.has("I50.900x016"):
        adds.append("多巴胺维持血压")
    if c.has(*_AF):
        adds.append("控制心室率并抗凝治疗")
    if c.has("J18.900", "J98.414"):
        adds.append(f"{rng.choice(('头孢曲松', '哌拉西林他唑巴坦', '左氧氟沙星'))}抗感染")
    if c.has("E87.600"):
        adds.append("口服及静脉补钾")
    if c.has(*_DM):
        adds.append("控制血糖")
    if adds:
        t += "；并予" + "、".join(adds)
    return t


def _course(rng: random.Random, c: _Case) -> str:
    s = rng.choice(("入院后完善相关检查：", "患者入院后完善辅助检查。", "入院后行血常规、生化等检查："))
    s += _workup(rng, c)
    s += rng.choice(("治疗上", "入院后")) + _treatment(rng, c) + "。"
    s += rng.choice(
        (
            "经治疗患者症状明显缓解，病情平稳，准予出院。",
            "住院期间未再发作，一般情况可，予办理出院。",
            "患者症状好转，生命体征平稳，今日出院。",
        )
    )
    return s


def _discharge_state(rng: random.Random, c: _Case) -> str:
    sbp, dbp, hr = rng.randint(118, 142), rng.randint(68, 86), rng.randint(60, 82)
    sym = {_HT3: "头晕、头痛", _UA: "胸痛、胸闷", _MVA: "胸闷", _NSTEMI: "胸痛", _HF: "喘憋、气短"}[c.main]
    s = rng.choice((f"患者未诉{sym}等不适，饮食、睡眠可。", f"{sym}较入院时明显缓解，精神、食欲好转。"))
    s += f"查体：BP {sbp}/{dbp}mmHg，心率{hr}次/分，"
    s += "心律绝对不齐，" if c.has("I48.x01") else "律齐，"
    s += "双肺底少许湿啰音，双下肢水肿减轻。" if c.main == _HF else "双肺呼吸音清，双下肢无水肿。"
    return s


def _drug_line(style: int, name: str, dose: str, freq: str) -> str:
    if style == 0:
        return f"{name} {dose} 口服 {freq}"
    return f"{name}，每次{dose}，{freq}"


def _orders(rng: random.Random, c: _Case) -> str:
    drugs: list[tuple[str, str, str]] = []
    antithrombotic = False
    if c.main in (_UA, _NSTEMI, _MVA) or c.has("I25.103", "Z95.501", "I25.200"):
        drugs.append(("阿司匹林肠溶片", "100mg", "每日1次"))
        antithrombotic = True
        if c.main in (_UA, _NSTEMI):
            drugs.append(rng.choice((("替格瑞洛片", "90mg", "每日2次"), ("硫酸氢氯吡格雷片", "75mg", "每日1次"))))
            drugs.append(("泮托拉唑钠肠溶片", "40mg", "每日1次"))
    if c.has(*_AF):
        drugs.append(("利伐沙班片", rng.choice(("15mg", "20mg")), "每日1次"))
        antithrombotic = True
    drugs.append(rng.choice((("阿托伐他汀钙片", "20mg", "每晚1次"), ("瑞舒伐他汀钙片", "10mg", "每晚1次"))))
    if c.main in (_UA, _NSTEMI, _HF) or c.has(*_AF):
        drugs.append(
            rng.choice((("琥珀酸美托洛尔缓释片", "47.5mg", "每日1次"), ("富马酸比索洛尔片", "2.5mg", "每日1次")))
        )
    if c.main == _HF:
        drugs += [
            ("沙库巴曲缬沙坦钠片", rng.choice(("50mg", "100mg")), "每日2次"),
            ("呋塞米片", "20mg", "每日1次"),
            ("螺内酯片", "20mg", "每日1次"),
            ("达格列净片", "10mg", "每日1次"),
        ]
    if c.main == _MVA:
        drugs += [("尼可地尔片", "5mg", "每日3次"), ("盐酸曲美他嗪缓释片", "35mg", "每日2次")]
    if c.main == _HT3:
        drugs += [("苯磺酸氨氯地平片", "5mg", "每日1次"), ("缬沙坦胶囊", "80mg", "每日1次")]
        if rng.random() < 0.5:
            drugs.append(
                ("氢氯噻嗪片", "12.5mg", "每日1次") if not c.has("E87.600") else ("螺内酯片", "20mg", "每日1次")
            )
    elif c.first(_HT_GRADES) and c.main != _HF:
        drugs.append(rng.choice((("苯磺酸氨氯地平片", "5mg", "每日1次"), ("厄贝沙坦片", "150mg", "每日1次"))))
    if c.has(*_DM):
        drugs.append(
            ("盐酸二甲双胍片", "0.5g", "每日2次") if not c.has("N19.x00x002") else ("利格列汀片", "5mg", "每日1次")
        )
    if c.has("E87.600"):
        drugs.append(("氯化钾缓释片", "1g", "每日2次"))
    if c.has("E72.101"):
        drugs.append(("叶酸片", "0.8mg", "每日1次"))
    style = rng.randint(0, 1)
    lines = "；".join(f"（{i}）{_drug_line(style, *d)}" for i, d in enumerate(drugs, 1))
    diet = "低盐低脂糖尿病饮食" if c.has(*_DM) else "低盐低脂饮食"
    s = f"1.注意休息，{diet}，戒烟限酒，避免劳累及情绪激动。2.出院带药：{lines}。"
    s += rng.choice(("3.每日监测血压、心率，", "3.居家记录血压及脉搏，"))
    s += f"{rng.choice((1, 2, 4))}周后门诊复查血常规、肝肾功能、电解质及血脂。"
    if antithrombotic:
        s += "4.服用抗栓药物期间注意有无牙龈出血、黑便等，如有及时就诊。5.不适随诊。"
    else:
        s += "4.如有胸闷、胸痛、头晕加重等不适随时就诊。"
    if c.main == _HF:
        s += "每日称体重，限制饮水量，体重短期内增加超过2kg需及时就医。"
    return s


def _diagnosis(rng: random.Random, c: _Case) -> str:
    done: set[str] = set()
    head = _pick_dx(rng, c.main)
    if c.main in (_UA, _NSTEMI) and c.has("I25.103"):
        head = rng.choice(("冠状动脉粥样硬化性心脏病 ", "冠心病 ")) + head
        done.add("I25.103")
    grade = c.first(_KILLIP) if c.main == _NSTEMI else c.first(_NYHA) if c.main in (_UA, _HF) else None
    if grade:
        head += " " + _pick_dx(rng, grade)
        done.add(grade)
    items = [head]
    rhythm = [o for o in c.others if o in _AF + _BEATS]
    nyha = next((o for o in c.others if o in _NYHA and o not in done), None)
    for o in c.others:
        if o in done:
            continue
        if "I49.900" in c.others and rhythm and o in (*rhythm, "I49.900"):
            items.append("心律失常 " + " ".join(_pick_dx(rng, r) for r in rhythm))
            done.update((*rhythm, "I49.900"))
        elif nyha and "I25.103" in c.others and o in ("I25.103", nyha):
            items.append(f"{_pick_dx(rng, 'I25.103')} {_pick_dx(rng, nyha)}")
            done.update(("I25.103", nyha))
        else:
            items.append(_pick_dx(rng, o))
            done.add(o)
    style = rng.randint(0, 2)
    if style == 0:
        return "".join(f"{i}.{x}" for i, x in enumerate(items, 1))
    if style == 1:
        return "；".join(f"{i}、{x}" for i, x in enumerate(items, 1))
    return " ".join(f"（{i}）{x}" for i, x in enumerate(items, 1))


# ---------------------------------------------------------------- assembly


def _record(rng: random.Random, rid: str, main: str) -> _Case:
    if main == _MVA:
        sex = "女" if rng.random() < 0.65 else "男"
        age = rng.randint(42, 72)
    else:
        sex = "男" if rng.random() < 0.6 else "女"
        age = rng.randint(48, 88) if main == _HF else rng.randint(38, 84)
    c = _Case(rid=rid, main=main, others=_draw_others(rng, main, sex), sex=sex, age=age)
    (l_lo, l_hi, l_unit), (s_lo, s_hi, s_unit) = _DURATIONS[main]
    long_hi = min(l_hi, c.age - 30) if l_unit == "年" else l_hi
    c.v["long"], c.v["short"] = _dur(rng, l_lo, long_hi, l_unit), _dur(rng, s_lo, s_hi, s_unit)
    _vitals(rng, c)
    return c


def _texts(rng: random.Random, c: _Case) -> dict[str, str]:
    complaint = _complaint(rng, c)
    t = {
        "主诉": complaint + rng.choice(("。", "")),
        "现病史": _present_illness(rng, c),
        "既往史": _past_history(rng, c),
        "个人史": _personal(rng, c),
        "婚姻史": _marital(rng, c),
        "家族史": _family(rng, c),
        "入院情况": _admission(rng, c, complaint),
        "入院诊断": _diagnosis(rng, c),
        "诊疗经过": _course(rng, c),
        "出院情况": _discharge_state(rng, c),
        "出院医嘱": _orders(rng, c),
    }
    return {k: t[k] for k in TEXT_SECTIONS}


def generate_records(n_labelled: int = 60, n_unlabelled: int = 5, seed: int = 0) -> list[dict[str, str]]:
    """Synthetic discharge records in the competition's format, the same for the same seed.

    Labelled records (ids DEMO000001…) carry 主要诊断编码 and 其他诊断编码, with principal codes spread
    evenly over the five classes; unlabelled ones (ids DEMOU00001…) have no label keys.
    """
    rng = random.Random(seed)
    mains = [_PRINCIPALS[i % len(_PRINCIPALS)] for i in range(n_labelled)]
    rng.shuffle(mains)
    out: list[dict[str, str]] = []
    for i, main in enumerate(mains, 1):
        c = _record(rng, f"DEMO{i:06d}", main)
        out.append({ID_KEY: c.rid, **_texts(rng, c), MAIN_KEY: c.main, OTHER_KEY: ";".join(c.others)})
    for i in range(1, n_unlabelled + 1):
        c = _record(rng, f"DEMOU{i:05d}", rng.choice(_PRINCIPALS))
        out.append({ID_KEY: c.rid, **_texts(rng, c)})
    return out
