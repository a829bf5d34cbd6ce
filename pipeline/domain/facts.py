"""Clinical facts of a record, to check that a rewrite kept what the record says.

A fact is a small normalised statement of one of four kinds:

* ``number`` — a number with its unit (``200mmHg``, ``138/77mmHg``, ``3-4周``, ``10年余``, ``0.5g``,
  ``LVEF 45%``), a date (``2023-05-01``, ``2019-03``, ``3月5日``) or a clock time (``9:05``);
* ``diagnosis`` — one item of the 入院诊断 list, with synonyms canonicalised and grades written one way
  (``高血压病3级极高危``, ``心功能3级``, ``Killip2级``);
* ``negation`` — one negated item (``否认糖尿病``: every cue — 否认, 无, 未见, 未闻及, 不伴 … — is written
  否认, so that rewording the cue is not a change);
* ``laterality`` — a side with the body part it qualifies (``右下肢``, ``双肺``, ``左前降支``; ``左侧``
  when no known part follows).

The extractor is deliberately precise rather than greedy: equivalent spellings compare equal (full-width
digits, ``200 mmHg`` / ``200mmHg``, ``umol/L`` / ``μmol/L``, ``3天`` / ``3日``, ``一次`` / ``1次``,
``2023-06-30`` / ``2023年6月30日``, 冠心病 / 冠状动脉粥样硬化性心脏病), while a changed or dropped number,
a removed negation, 左 turned into 右 or a dropped diagnosis show up as dropped and invented facts.
Facts are a multiset over the whole record, so reordering sentences or list items changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from pipeline.domain.records import TEXT_SECTIONS
from pipeline.domain.synonyms import canonicalise, known

DIAGNOSIS_SECTION = "入院诊断"


@dataclass(frozen=True, order=True)
class Fact:
    kind: str  # "number" | "diagnosis" | "negation" | "laterality"
    value: str


# ---------------------------------------------------------------------------------------------------
# Character-level normalisation (one character for one character, so offsets are kept)
# ---------------------------------------------------------------------------------------------------

_WIDTH_FROM = "".join(chr(c) for c in range(0xFF01, 0xFF5F) if chr(c) not in "（），：；！？") + "\u3000µ"
_WIDTH_TO = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F) if chr(c) not in "（），：；！？") + " μ"
_WIDTH = str.maketrans(_WIDTH_FROM, _WIDTH_TO)


_NEEDS_WIDTH = re.compile("[" + re.escape(_WIDTH_FROM) + "]")


def normalise_width(text: str) -> str:
    """Full-width digits, Latin letters and symbols to their ASCII forms (Chinese punctuation is kept:
    （），：；！？ stay as they are). One character maps to one character."""
    return text.translate(_WIDTH) if _NEEDS_WIDTH.search(text) else text


def normalise_text(text: str) -> str:
    """The text that facts are read from: width-normalised, then synonyms canonicalised."""
    return canonicalise(normalise_width(text))


# ---------------------------------------------------------------------------------------------------
# Numbers, dates and times
# ---------------------------------------------------------------------------------------------------

#: Units written with Latin letters or symbols → canonical unit (keys in lower case; matched ignoring case).
_LATIN_UNITS: dict[str, str] = {
    "mmhg": "mmHg",
    "kpa": "kPa",
    "cmh2o": "cmH2O",
    "bpm": "次/分",
    "mmol/l": "mmol/L",
    "μmol/l": "μmol/L",
    "umol/l": "μmol/L",
    "nmol/l": "nmol/L",
    "pmol/l": "pmol/L",
    "mol/l": "mol/L",
    "mg/l": "mg/L",
    "g/l": "g/L",
    "μg/l": "μg/L",
    "ug/l": "μg/L",
    "ng/l": "ng/L",
    "ng/ml": "ng/mL",
    "pg/ml": "pg/mL",
    "μg/ml": "μg/mL",
    "ug/ml": "μg/mL",
    "mg/dl": "mg/dL",
    "u/l": "U/L",
    "iu/l": "IU/L",
    "u/ml": "U/mL",
    "iu/ml": "IU/mL",
    "miu/ml": "mIU/mL",
    "miu/l": "mIU/L",
    "μiu/ml": "μIU/mL",
    "uiu/ml": "μIU/mL",
    "ml/min/1.73m2": "mL/min/1.73m2",
    "ml/min/1.73m²": "mL/min/1.73m2",
    "ml/min": "mL/min",
    "l/min": "L/min",
    "kg/m2": "kg/m2",
    "kg/m²": "kg/m2",
    "mm/h": "mm/h",
    "cm/s": "cm/s",
    "m/s": "m/s",
    "mg": "mg",
    "kg": "kg",
    "g": "g",
    "μg": "μg",
    "ug": "μg",
    "mcg": "μg",
    "ml": "mL",
    "cm": "cm",
    "mm": "mm",
    "ms": "ms",
    "min": "分钟",
    "hr": "小时",
    "h": "小时",
    "iu": "IU",
    "u": "U",
}
#: Units matched exactly as written.
_EXACT_UNITS: dict[str, str] = {
    "%": "%",
    "‰": "‰",
    "℃": "℃",
    "°C": "℃",
    "d": "天",
    "L": "L",
    "次/分钟": "次/分",
    "次/分": "次/分",
    "次/min": "次/分",
    "毫米汞柱": "mmHg",
    "周岁": "岁",
    "岁": "岁",
    "个月": "月",
    "月": "月",
    "年": "年",
    "周": "周",
    "星期": "周",
    "天": "天",
    "日": "天",
    "小时": "小时",
    "分钟": "分钟",
    "秒": "秒",
    "次": "次",
    "片": "片",
    "粒": "粒",
    "支": "支",
    "枚": "枚",
    "个": "个",
    "袋": "袋",
    "瓶": "瓶",
    "滴": "滴",
    "喷": "喷",
    "丸": "丸",
    "包": "包",
    "贴": "贴",
    "单位": "U",
    "米": "米",
    "厘米": "cm",
    "毫米": "mm",
    "毫升": "mL",
    "毫克": "mg",
    "克": "g",
    "公斤": "kg",
    "千克": "kg",
    "倍": "倍",
    "处": "处",
    "根": "根",
    "项": "项",
}
#: Units that Chinese numerals (一, 两, 十 …) may carry.
# fmt: off
_CN_NUMERAL_UNITS = ("周岁", "岁", "个月", "月", "年", "周", "星期", "天", "日", "小时", "分钟", "秒", "次", "片",
                     "粒", "支", "枚", "个", "袋", "倍", "处", "根", "项")
# fmt: on


def _unit_alternatives() -> str:
    alts: list[tuple[str, str]] = []
    # A short Latin unit glued to further letters is the start of a word, not a unit ("2hPG" is not
    # read as "2h"); longer units are taken as they stand (records often glue the next label on:
    # "20次/minBP138/77mmHg").
    for surface in _LATIN_UNITS:
        tail = "(?![A-Za-z])" if len(surface) <= 2 else ""
        alts.append((surface, "(?i:" + re.escape(surface) + ")" + tail))
    for surface in _EXACT_UNITS:
        tail = "(?![A-Za-z])" if surface.isascii() and surface.isalpha() else ""
        alts.append((surface, re.escape(surface) + tail))
    alts.sort(key=lambda a: -len(a[0]))
    return "|".join(a[1] for a in alts)


_NUM = r"\d+(?:\.\d+)?"
_CN_DIGITS = "零一二两三四五六七八九十百"
_MONTH = r"(?:1[0-2]|0[1-9]|[1-9])"
_DAY = r"(?:3[01]|[12]\d|0[1-9]|[1-9])"
_RANGE_SEP = r"(?:-|~|～|—|至|到)"
_SCI_UNIT = r"[×xX*]\s*10\s*\^?\s*(?:9|12|⁹|¹²)\s*/\s*L"

NUMBER_PATTERN: re.Pattern[str] = re.compile(
    # (the leading look-ahead lets the engine skip positions that cannot start a number quickly)
    rf"(?=[\d{_CN_DIGITS}半<>≤≥])(?:"
    # dates and times first: at one position the first alternative that matches wins
    rf"(?P<date>(?<!\d)(?P<dy>(?:19|20)\d{{2}})(?P<ds>[-/.])(?P<dm>{_MONTH})(?P=ds)(?P<dd>{_DAY}))"
    rf"|(?P<cdate>(?<!\d)(?P<cy>(?:19|20)\d{{2}})年(?P<cm>{_MONTH})月(?:(?P<cd>{_DAY})[日号])?)"
    rf"|(?P<ym>(?<!\d)(?P<yy>(?:19|20)\d{{2}})[-/](?P<ymm>1[0-2]|0[1-9])(?![\d.]))"
    rf"|(?P<md>(?<![\d.])(?P<mm>{_MONTH})月(?P<mdd>{_DAY})[日号])"
    rf"|(?P<time>(?<![:.])(?P<th>2[0-3]|[01]?\d)[:：](?P<tm>[0-5]\d)(?![\d:]))"
    rf"|(?P<bp>(?<![\d.])(?P<sys>\d{{2,3}})\s*/\s*(?P<dia>\d{{2,3}})\s*(?P<bpu>(?i:mmhg)|毫米汞柱))"
    rf"|(?P<sci>(?<![\d.])(?P<sn>{_NUM})\s*(?P<su>{_SCI_UNIT}))"
    rf"|(?P<num>(?<![\d.])(?:(?P<cmp>[<>≤≥])\s*)?(?P<a>{_NUM})(?:\s*(?P<sep>{_RANGE_SEP})\s*(?P<b>{_NUM}))?"
    rf"(?P<yu>[余多])?\s*(?P<unit>{_unit_alternatives()})(?P<yu2>余)?)"
    rf"|(?P<cn>(?<![{_CN_DIGITS}\d])(?P<c>[{_CN_DIGITS}]+|半)(?P<cyu>[余多])?"
    rf"(?P<cunit>{'|'.join(sorted(_CN_NUMERAL_UNITS, key=len, reverse=True))})(?P<cyu2>余)?))"
)

_CN_VALUE = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def chinese_number(text: str) -> str | None:
    """The value of a simple Chinese numeral (一 … 九百九十九, 两, 半), or None when it is not one."""
    if text == "半":
        return "0.5"
    total, current = 0, None
    for ch in text:
        if ch in _CN_VALUE:
            if current is not None:
                return None  # two digits in a row ("一二") is not a numeral we read
            current = _CN_VALUE[ch]
        elif ch == "十":
            total += (1 if current is None else current) * 10
            current = None
        elif ch == "百":
            if current is None:
                return None
            total += current * 100
            current = None
        else:
            return None
    total += current or 0
    return str(total) if total or text == "零" else None


@lru_cache(maxsize=16384)
def _num(text: str) -> str:
    """A decimal number written one way: no leading zeros, no trailing decimal zeros."""
    if "." in text:
        whole, frac = text.split(".", 1)
        frac = frac.rstrip("0")
        whole = whole.lstrip("0") or "0"
        return f"{whole}.{frac}" if frac else whole
    return text.lstrip("0") or "0"


def _unit(surface: str) -> str:
    if surface in _EXACT_UNITS:
        return _EXACT_UNITS[surface]
    return _LATIN_UNITS[surface.lower()]


def number_value(m: re.Match[str]) -> str | None:
    """The normalised value of one match of :data:`NUMBER_PATTERN` (None: not a fact)."""
    kind = m.lastgroup  # the alternative that matched (its group closes last)
    g = m.group
    if kind == "num":
        value = _num(g("a"))
        if g("b"):
            value += "-" + _num(g("b"))
        more = "余" if (g("yu") or g("yu2")) else ""
        return f"{g('cmp') or ''}{value}{_unit(g('unit'))}{more}"
    if kind == "date":
        return f"{g('dy')}-{int(g('dm')):02d}-{int(g('dd')):02d}"
    if kind == "cdate":
        if g("cd"):
            return f"{g('cy')}-{int(g('cm')):02d}-{int(g('cd')):02d}"
        return f"{g('cy')}-{int(g('cm')):02d}"
    if kind == "ym":
        return f"{g('yy')}-{int(g('ymm')):02d}"
    if kind == "md":
        return f"{int(g('mm'))}月{int(g('mdd'))}日"
    if kind == "time":
        return f"{int(g('th'))}:{g('tm')}"
    if kind == "bp":
        return f"{_num(g('sys'))}/{_num(g('dia'))}mmHg"
    if kind == "sci":
        power = "12" if re.search(r"12|¹²", g("su")) else "9"
        return f"{_num(g('sn'))}×10^{power}/L"
    if kind == "cn":
        value = chinese_number(g("c"))
        if value is None:
            return None
        more = "余" if (g("cyu") or g("cyu2")) else ""
        return f"{value}{_unit(g('cunit'))}{more}"
    return None


_LVEF_BEFORE = re.compile(r"LVEF\s*[:：]?\s*(?:为|约|)\s*$")


def _numbers(text: str) -> Iterable[Fact]:
    for m in NUMBER_PATTERN.finditer(text):
        value = number_value(m)
        if value is None:
            continue
        if value.endswith("%") and _LVEF_BEFORE.search(text, max(0, m.start() - 12), m.start()):
            value = "LVEF " + value
        yield Fact("number", value)


# ---------------------------------------------------------------------------------------------------
# Negations
# ---------------------------------------------------------------------------------------------------

# fmt: off
NEGATION_CUES = ("否认", "未闻及", "未触及", "未探及", "未引出", "未发现", "未出现", "未见", "未及", "未诉", "未再",
                 "不伴有", "不伴", "无")
# fmt: on
_NOT_A_NEGATION = "法创菌锡力尿名效误关论须需从数疑"  # 无法, 无创, … 无力 and 无尿 are symptoms, not negations
NEGATION_PATTERN: re.Pattern[str] = re.compile(
    r"(?=[否未不无])(?<!有)(?P<cue>否认|未闻及|未触及|未探及|未引出|未发现|未出现|未见|未及(?!时)|未诉|未再|不伴有|不伴"
    rf"|无(?![{_NOT_A_NEGATION}]))"
    r"(?P<body>[^，,。；;：:！!？?\n()（）\[\]【】<>《》\s\d]*)"
)
_BODY_CUT = re.compile(r"等|出现|发生|于")
_ITEM_SPLIT = re.compile(r"、|/|及|或|(?<!饱)和|(?<!参)与")
_QUOTES = str.maketrans("", "", '“”"‘’「」『』')
_DISEASE_END = set("病死塞症炎瘤癌伤核压全化常梗")


def strip_history(item: str) -> tuple[str, str]:
    """Split a trailing "史" / "病史" / "症状" off a negated item: ("糖尿病", "病史") for 糖尿病病史,
    ("高血压", "病史") for 高血压病史, ("高血脂", "病史") for 高血脂病史, ("糖尿病", "史") for 糖尿病史
    (病 is split off when what stays is a known term or ends like a disease name: 死, 症, 炎 …)."""
    for tail in ("症状", "史"):
        if item.endswith(tail) and len(item) > len(tail):
            core = item[: -len(tail)]
            disease = len(core) > 2 and core.endswith("病") and (core[-2] in _DISEASE_END or known(core[:-1]))
            if tail == "史" and disease:
                return core[:-1], "病史"
            return core, tail
    return item, ""


def negated_item(raw: str) -> str:
    """One negated item written one way (明显 / 有 dropped in front, 史 / 症状 behind, synonyms canonical)."""
    item = raw.strip()
    for head in ("明显", "有"):
        if item.startswith(head):
            item = item[len(head) :]
    item, _ = strip_history(item)
    return canonicalise(item)


def _negations(text: str) -> Iterable[Fact]:
    text = text.translate(_QUOTES)
    for m in NEGATION_PATTERN.finditer(text):
        body = m.group("body")
        cut = _BODY_CUT.search(body)
        if cut:
            body = body[: cut.start()]
        for raw in _ITEM_SPLIT.split(body):
            item = negated_item(raw)
            if item:
                yield Fact("negation", "否认" + item)


# ---------------------------------------------------------------------------------------------------
# Laterality
# ---------------------------------------------------------------------------------------------------

# fmt: off
BODY_PARTS: tuple[str, ...] = (
    "下肢", "上肢", "肺上叶", "肺中叶", "肺下叶", "肺门", "肺野", "肺", "胸腔", "胸膜", "肾上腺", "肾", "输尿管",
    "眼", "耳", "膝关节", "膝", "髋关节", "髋", "踝", "足背动脉", "足背", "足", "手", "腕", "肘", "肩", "乳腺", "乳",
    "颈总动脉", "颈内动脉", "颈外动脉", "颈动脉", "椎动脉", "锁骨下动脉", "锁骨", "股总动脉", "股浅动脉", "股动脉",
    "股总静脉", "股静脉", "股骨", "腘动脉", "胫前动脉", "胫后动脉", "桡动脉", "髂总动脉", "髂动脉", "冠状动脉", "主干",
    "前降支", "回旋支", "心室", "心房", "心", "束支", "基底节", "侧脑室", "额叶", "颞叶", "顶叶", "枕叶", "小脑",
    "大脑", "半球", "丘脑", "甲状腺", "附件", "卵巢", "腹股沟", "肋", "上腹", "下腹", "腰", "颈部", "面部",
)
# fmt: on
LATERALITY_PATTERN: re.Pattern[str] = re.compile(
    r"(?=[左右双两])(?<!左)(?P<side>左|右|双|两)(?P<ce>侧)?(?P<part>"
    + "|".join(re.escape(p) for p in sorted(BODY_PARTS, key=len, reverse=True))
    + ")?"
)


def _lateralities(text: str) -> Iterable[Fact]:
    for m in LATERALITY_PATTERN.finditer(text):
        if not (m.group("ce") or m.group("part")):
            continue
        side = "双" if m.group("side") in "双两" else m.group("side")
        yield Fact("laterality", side + (m.group("part") or "侧"))


# ---------------------------------------------------------------------------------------------------
# Diagnoses (入院诊断)
# ---------------------------------------------------------------------------------------------------

# fmt: off
_ROMAN = {"Ⅰ": "1", "Ⅱ": "2", "Ⅲ": "3", "Ⅳ": "4", "Ⅴ": "5", "IV": "4", "III": "3", "II": "2", "I": "1", "V": "5",
          "一": "1", "二": "2", "三": "3", "四": "4", "五": "5"}
# fmt: on
_GRADE = re.compile(r"(?<![IV])(IV|III|II|I|V|Ⅰ|Ⅱ|Ⅲ|Ⅳ|Ⅴ)(?=级|期|度|°)|(?<![一二三四五六七八九十])([一二三四])(?=级)")
_DROP_IN_DIAGNOSIS = re.compile(r"[\s()（）\[\]【】{}，,、：:；;。.\"“”'‘’]")


def diagnosis_item(raw: str) -> str:
    """One diagnosis written one way: synonyms canonical, no brackets or commas, grades in Arabic digits,
    the NYHA / Killip notation fixed (心功能3级 = NYHA III; Killip2级)."""
    text = canonicalise(normalise_width(raw))
    text = text.replace("°", "度")
    text = _GRADE.sub(lambda m: _ROMAN[m.group(0)], text)
    text = _DROP_IN_DIAGNOSIS.sub("", text)
    text = re.sub(r"(?i)killip", "Killip", text)
    text = text.replace("分级", "")
    text = re.sub(r"(?:心功能)?Killip(\d)级|心功能(\d)级Killip", lambda m: f"Killip{m.group(1) or m.group(2)}级", text)
    text = re.sub(
        r"(?:NYHA)?心功能(?:NYHA)?(\d)级(?:NYHA)?|NYHA(\d)级", lambda m: f"心功能{m.group(1) or m.group(2)}级", text
    )
    return canonicalise(text)


def split_diagnoses(text: str) -> list[str]:
    """The items of a numbered diagnosis list ("1.冠心病2.高血压病3级（很高危）3.…"), found by following
    the numbers 1, 2, 3 … in order, so that "2型糖尿病" after "4." is not taken for item 2. A text
    without numbering is one item."""
    text = normalise_width(text)
    first = re.match(r"\s*1\s*[.、．,，]", text)
    if not first:
        return [text.strip()] if text.strip() else []
    items: list[str] = []
    pos, k = first.end(), 2
    while True:
        marker = re.compile(rf"(?<![\d.]){k}\s*[.、．]")
        nxt = marker.search(text, pos) or re.compile(rf"{k}\s*[.、．](?!\d)").search(text, pos)
        if not nxt:
            items.append(text[pos:])
            break
        items.append(text[pos : nxt.start()])
        pos, k = nxt.end(), k + 1
    return [i.strip() for i in items if i.strip()]


def _diagnoses(raw_section: str) -> Iterable[Fact]:
    for item in split_diagnoses(raw_section):
        value = diagnosis_item(item)
        if value:
            yield Fact("diagnosis", value)


# ---------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------


#: Where facts are read piece by piece: no fact reaches across a "。" or a "；".
_PIECE_END = re.compile(r"(?<=[。；;])")


def _fact_key(fact: Fact) -> tuple[str, str]:
    return fact.kind, fact.value


@lru_cache(maxsize=65536)
def _sentence_facts(sentence: str) -> tuple[Fact, ...]:
    norm = normalise_text(sentence)
    return (*_numbers(norm), *_negations(norm), *_lateralities(norm))


@lru_cache(maxsize=8192)
def section_facts(name: str, text: str) -> tuple[Fact, ...]:
    """The facts of one section (sorted); diagnoses only come from 入院诊断.

    Numbers, negations and lateralities never reach across a "。" or a "；", so they are read piece by
    piece (and cached that way: a rewrite that touches one piece costs one piece; one that moves pieces
    around costs nothing)."""
    facts: list[Fact] = []
    for piece in _PIECE_END.split(text):
        if piece:
            facts.extend(_sentence_facts(piece))
    if name == DIAGNOSIS_SECTION:
        facts.extend(_diagnoses(text))
    return tuple(sorted(facts, key=_fact_key))


def extract_facts(sections: Mapping[str, str]) -> Counter[Fact]:
    """The facts of a record (a multiset) over its eleven text sections; other keys are ignored."""
    facts: Counter[Fact] = Counter()
    for name in TEXT_SECTIONS:
        text = sections.get(name)
        if text:
            facts.update(section_facts(name, text))
    return facts


def compare_facts(original: Mapping[str, str], variant: Mapping[str, str]) -> tuple[list[Fact], list[Fact]]:
    """(dropped, invented): the facts of ``original`` missing from ``variant`` and the facts of ``variant``
    that ``original`` does not have, with multiplicity, each sorted."""
    a, b = extract_facts(original), extract_facts(variant)
    return sorted((a - b).elements(), key=_fact_key), sorted((b - a).elements(), key=_fact_key)


def facts_digest(sections: Mapping[str, str]) -> str:
    """A digest of a record's facts (the multiset ``extract_facts`` reads): two records with the same digest have the
    same facts. The rule generator, which reads every variant's facts anyway, stores it with the variant."""
    facts = sorted(
        (f for name in TEXT_SECTIONS if sections.get(name) for f in section_facts(name, sections[name])), key=_fact_key
    )
    return hashlib.sha256("\x00".join(f"{f.kind}\x01{f.value}" for f in facts).encode("utf-8")).hexdigest()


def same_facts(original: Mapping[str, str], variant: Mapping[str, str]) -> bool:
    """Whether every section that ``variant`` changed reads the same facts as in ``original``: then the two records'
    facts are equal (``compare_facts`` gives ``([], [])``) and neither multiset needs building. False does not mean
    they differ (a fact may move from one section to another); ``compare_facts`` settles those."""
    for name in TEXT_SECTIONS:
        before, after = original.get(name) or "", variant.get(name) or ""
        if after != before and section_facts(name, after) != section_facts(name, before):
            return False
    return True
