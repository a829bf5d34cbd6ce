"""One way of writing numbers and dates per variant: the style normaliser of the rule rewriter.

A coder writes a record in one style: one date format ("2023年6月30日", "2023-06-30" or "2023/6/30"), one
way of writing counts and durations ("3小时" · "3h" · "三小时"), one range separator, one way with the space
before a Latin unit. A variant picks a :class:`NumberStyle` and :func:`restyle` applies each of its choices to
*every* number and date of the record that can take it, never to some of them: a variant never mixes
"餐后一小时…两小时…3h" or four date formats in one paragraph. Numbers keep their value (what
:mod:`pipeline.domain.facts` reads does not change); the sections listed as fixed (入院诊断) are left alone,
and their dates count when deciding which date format the whole record can be written in.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from pipeline.domain.facts import NUMBER_PATTERN, chinese_number, normalise_width

DATE_STYLES = ("cn", "iso", "slash")
#: Counts and durations: Arabic numerals with Chinese units ("3小时", "80次/分"), Arabic with Latin units
#: ("3h", "80次/min"), or Chinese numerals for small counts ("三小时", "两片") with Chinese units.
NUMERAL_STYLES = ("arabic", "latin", "chinese")

#: Time and rate units: (Chinese form, Latin form).
_UNIT_FAMILY: dict[str, tuple[str, str]] = {
    "小时": ("小时", "h"),
    "h": ("小时", "h"),
    "H": ("小时", "h"),
    "分钟": ("分钟", "min"),
    "min": ("分钟", "min"),
    "次/分": ("次/分", "次/min"),
    "次/分钟": ("次/分", "次/min"),
    "次/min": ("次/分", "次/min"),
}
_MICRO = {"umol/L": "mol/L", "μmol/L": "mol/L", "uIU/mL": "IU/mL", "μIU/mL": "IU/mL", "ug": "g", "μg": "g"}
#: Units that Chinese numerals are written with ("两片", "三天"), in records' practice.
CN_WRITABLE_UNITS = frozenset({"次", "片", "粒", "支", "个", "天", "日", "周", "年", "小时", "分钟", "个月", "倍"})
#: Units of counts and durations: a sentence with one whose number has no Chinese numeral ("1月" would read
#: as January, "68岁", "12天") keeps every count in Arabic numerals.
COUNT_UNITS = CN_WRITABLE_UNITS | frozenset({"月", "岁", "周岁", "星期", "秒", "枚", "袋", "处", "根", "项"})
_CN_NUMERALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class NumberStyle:
    """How a variant writes numbers; None leaves that aspect as each number has it."""

    dates: tuple[str, ...] = DATE_STYLES  #: date formats in order of preference
    restyle_dates: bool = False  #: write every date in the first format all of them can take
    numerals: str | None = None  #: one of NUMERAL_STYLES
    days: str | None = None  #: 天 | 日
    spacing: str | None = None  #: "tight" 200mmHg | "spaced" 200 mmHg
    ranges: str | None = None  #: - | ~ | 至
    more: str | None = None  #: 余 | 多 ("3年余" and "3年多")
    colon: str | None = None  #: ":" | "："
    micro: str | None = None  #: μ | u (μmol/L, umol/L)
    millilitre: str | None = None  #: ml | mL
    celsius: str | None = None  #: ℃ | °C


def choose_style(rng: random.Random, p: float) -> NumberStyle:
    """A style whose every aspect is chosen with probability ``p`` (and left alone otherwise)."""

    def pick(options: tuple[str, ...]) -> str | None:
        return rng.choice(options) if rng.random() < p else None

    dates = list(DATE_STYLES)
    rng.shuffle(dates)
    return NumberStyle(
        dates=tuple(dates),
        restyle_dates=rng.random() < p,
        numerals=pick(NUMERAL_STYLES),
        days=pick(("天", "日")),
        spacing=pick(("tight", "spaced")),
        ranges=pick(("-", "~", "至")),
        more=pick(("余", "多")),
        colon=pick((":", "：")),
        micro=pick(("μ", "u")),
        millilitre=pick(("ml", "mL")),
        celsius=pick(("℃", "°C")),
    )


# ---------------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------------


def date_style(m: re.Match[str]) -> str | None:
    """The format of a date match of NUMBER_PATTERN: cn, iso, slash or dot (None: not a date)."""
    if m.group("date"):
        return {"-": "iso", "/": "slash", ".": "dot"}[m.group("ds")]
    if m.group("cdate") or m.group("md"):
        return "cn"
    if m.group("ym"):
        return "iso" if normalise_width(m.group(0))[4] == "-" else "slash"
    return None


def date_styles(text: str) -> set[str]:
    """The date formats that ``text`` uses."""
    return {s for m in NUMBER_PATTERN.finditer(normalise_width(text)) if (s := date_style(m))}


def _date_form(m: re.Match[str], style: str, nxt: str) -> str | None:
    """The date of ``m`` written in ``style`` (None: it cannot be written so and still read the same)."""
    if m.group("md"):
        return m.group(0) if style == "cn" else None  # a date without its year is only written in Chinese
    if nxt.isdigit() or nxt in "日号":
        # "2023-08-3024h" (digits glued on), "2022-04-01日" (a day marker after a numeric date): as they stand
        return m.group(0) if date_style(m) == style else None
    if m.group("date") or (m.group("cdate") and m.group("cd")):
        if m.group("date"):
            y, mo, d = m.group("dy"), int(m.group("dm")), int(m.group("dd"))
        else:
            y, mo, d = m.group("cy"), int(m.group("cm")), int(m.group("cd"))
        if style == "cn":
            return f"{y}年{mo}月{d}日"
        if nxt == ".":
            return None
        return f"{y}-{mo:02d}-{d:02d}" if style == "iso" else f"{y}/{mo}/{d}"
    y = m.group("cy") or m.group("yy")
    mo = int(m.group("cm") or m.group("ymm"))
    if style == "cn":
        return f"{y}年{mo}月"
    if style == "iso" and nxt not in (".", "-", "/"):
        return f"{y}-{mo:02d}"
    return None  # a year and month is not written "2023/6"


@lru_cache(maxsize=65536)
def _matches(text: str) -> tuple[re.Match[str], ...]:
    """The numbers of ``text`` (width-normalised; one character maps to one, so offsets hold in ``text``).
    Cached: every variant of a record restyles the same sentences."""
    return tuple(NUMBER_PATTERN.finditer(normalise_width(text)))


@lru_cache(maxsize=8192)
def _date_matches(text: str) -> tuple[tuple[re.Match[str], str], ...]:
    """The date matches of ``text`` with the character after each."""
    return tuple((m, text[m.end() : m.end() + 1]) for m in _matches(text) if date_style(m))


def record_date_style(sections: Mapping[str, str], style: NumberStyle, fixed: frozenset[str]) -> str | None:
    """The one date format the whole record is written in, or None to leave its dates as they are: the first
    format of the style's preference that every date can take, when the style restyles dates or the record
    mixes formats (a record written in two date formats is always put in one)."""
    used: set[str] = set()
    feasible = set(DATE_STYLES)
    for name, text in sections.items():
        for m, nxt in _date_matches(text):
            current = date_style(m)
            assert current is not None
            used.add(current)
            if name in fixed:
                feasible &= {current}
            else:
                feasible &= {s for s in DATE_STYLES if _date_form(m, s, nxt) is not None}
    if not used or not (style.restyle_dates or len(used) > 1):
        return None
    return next((s for s in style.dates if s in feasible), None)


# ---------------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------------

Patch = tuple[int, int, str]


def _target_unit(unit: str, style: NumberStyle, prev: str, after_unit: str, latin_ok: bool = True) -> str:
    """The unit written in ``style`` (time and rate units stay as they are where ``latin_ok`` is False: the
    sentence has one that cannot be written in Latin)."""
    if unit in _UNIT_FAMILY:
        if not style.numerals or (style.numerals == "latin" and not latin_ok):
            return unit
        return _UNIT_FAMILY[unit][1 if style.numerals == "latin" else 0]
    if unit in ("天", "日") and style.days and prev != "月" and after_unit != "期":
        return style.days
    if unit in _MICRO and style.micro:
        return style.micro + _MICRO[unit]
    if unit in ("ml", "mL") and style.millilitre:
        return style.millilitre
    if unit in ("℃", "°C") and style.celsius:
        return style.celsius
    if unit == "毫米汞柱" and style.numerals == "latin":
        return "mmHg"
    return unit


def _latin(unit: str) -> bool:
    return unit[0] == "μ" or (unit[0].isascii() and unit[0].isalpha())


def _latin_ok(raw: str, m: re.Match[str]) -> bool:
    """Whether a time or rate unit of ``m`` can be written in Latin: a whole number ("半小时" cannot), and no
    letter or digit glued on after it ("24hHolter", "2h9.2mmol/L")."""
    group = "unit" if m.group("num") else "cunit"
    if m.group(group) not in _UNIT_FAMILY:
        return True
    if m.group("cn") and not (chinese_number(m.group("c")) or "").isdigit():
        return False
    after = normalise_width(raw[m.end(group) : m.end(group) + 1])
    return not (after.isascii() and after.isalnum())


def _cn_count(raw: str, m: re.Match[str], unit: str) -> str | None:
    """The Chinese numeral for the count of a num match ("3" of "3天" → "三"; 2 is 两 before a measure word),
    None when it is not a small whole count written before its unit; "" when the number is not a count (a
    measurement, or part of a name: 辅酶Q10片, 维生素B6片)."""
    prev = raw[m.start() - 1 : m.start()] if m.start() else ""
    if unit not in COUNT_UNITS or (prev.isascii() and prev.isalpha()):
        return ""
    a = normalise_width(m.group("a"))
    yu = len(m.group("yu") or "")
    if (
        unit not in CN_WRITABLE_UNITS
        or m.group("cmp")
        or m.group("b")
        or not a.isdigit()
        or not 1 <= int(a) <= 10
        or (prev and prev in _CN_NUMERALS + "两零百")
        or m.start("unit") != m.end("a") + yu
    ):
        return None
    return "两" if a == "2" else _CN_NUMERALS[int(a) - 1]


def _num_patches(raw: str, m: re.Match[str], style: NumberStyle, chinese: bool, latin: bool) -> list[Patch]:
    prev = raw[m.start() - 1 : m.start()] if m.start() else ""
    unit = m.group("unit")
    ustart, uend = m.span("unit")
    target = _target_unit(unit, style, prev, raw[uend : uend + 1], latin)
    patches: list[Patch] = []
    if chinese and (count := _cn_count(raw, m, target)):
        patches.append((m.start("a"), m.end("a"), count))
    if m.group("sep") and style.ranges and m.group("sep") != style.ranges:
        patches.append((*m.span("sep"), style.ranges))
    if m.group("yu") and style.more and m.group("yu") != style.more:
        patches.append((*m.span("yu"), style.more))
    gap_start = max(m.end(g) for g in ("a", "b", "yu") if m.group(g) is not None)
    gap = raw[gap_start:ustart]
    if _latin(target) and style.spacing:
        wanted = " " if style.spacing == "spaced" else ""
        if gap != wanted:
            patches.append((gap_start, ustart, wanted))
    elif gap and not _latin(target) and target != unit:
        patches.append((gap_start, ustart, ""))  # "3 h" → "3小时", not "3 小时"
    if target != unit:
        patches.append((ustart, uend, target))
    return patches


def _cn_patches(raw: str, m: re.Match[str], style: NumberStyle, latin: bool) -> list[Patch]:
    """A number written in Chinese numerals ("三天", "十分钟"), in Arabic ones when the style says so."""
    patches: list[Patch] = []
    if m.group("cyu") and style.more and m.group("cyu") != style.more:
        patches.append((*m.span("cyu"), style.more))
    if style.numerals not in ("arabic", "latin"):
        return patches
    prev = raw[m.start() - 1 : m.start()] if m.start() else ""
    value = chinese_number(m.group("c"))
    # not in names: 一次性 (disposable), 甲功五项 (a laboratory panel); not in fractions (四分之一片); not an
    # ordinal ("二次PCI" is a second PCI, not two)
    in_a_name = (
        raw[m.end() : m.end() + 1] == "性"
        or m.group("cunit") == "项"
        or prev == "之"
        or (m.group("c") == "二" and m.group("cunit") == "次" and prev != "第")
    )
    if not value or not value.isdigit() or prev.isdigit() or prev == "." or in_a_name:
        return patches
    patches.append((*m.span("c"), value))
    unit = m.group("cunit")
    after = raw[m.end("cunit") : m.end("cunit") + 1]
    target = _target_unit(unit, style, prev, after, latin)
    if target != unit:
        patches.append((*m.span("cunit"), target))
    return patches


def _sentence_patches(raw: str, style: NumberStyle, dates: str | None) -> list[Patch]:
    text = normalise_width(raw)
    matches = _matches(raw)
    # Chinese numerals in a sentence only when every count of it can be written so ("三天…12天" mixes)
    # Latin time units in a sentence only when every one of them can be Latin ("1h…2小时…3h" mixes)
    latin = style.numerals == "latin" and all(_latin_ok(raw, m) for m in matches if m.group("num") or m.group("cn"))
    chinese = style.numerals == "chinese" and all(
        _cn_count(raw, m, _target_unit(m.group("unit"), style, "", "")) is not None for m in matches if m.group("num")
    )
    patches: list[Patch] = []
    for m in matches:
        nxt = raw[m.end() : m.end() + 1]
        if date_style(m):
            form = _date_form(m, dates, nxt) if dates else None
            if form is not None and form != text[m.start() : m.end()]:
                patches.append((m.start(), m.end(), form))
        elif m.group("time") and style.colon:
            colon = m.start("tm") - 1
            if raw[colon] != style.colon:
                patches.append((colon, colon + 1, style.colon))
        elif m.group("bp") and style.spacing and _latin(m.group("bpu")):
            gap_start, unit_start = m.end("dia"), m.start("bpu")
            wanted = " " if style.spacing == "spaced" else ""
            if raw[gap_start:unit_start] != wanted:
                patches.append((gap_start, unit_start, wanted))
        elif m.group("num"):
            patches += _num_patches(raw, m, style, chinese, latin)
        elif m.group("cn"):
            patches += _cn_patches(raw, m, style, latin)
    return patches


_PIECE_END = re.compile(r"(?<=[。；;])")


@lru_cache(maxsize=65536)
def _restyle_sentence(sentence: str, style: NumberStyle, dates: str | None) -> str:
    if not _matches(sentence):
        return sentence
    out: list[str] = []
    pos = 0
    for start, end, new in sorted(_sentence_patches(sentence, style, dates), key=lambda p: (p[0], p[1])):
        if start < pos:
            continue  # overlaps a patch already made
        out += [sentence[pos:start], new]
        pos = end
    out.append(sentence[pos:])
    return "".join(out)


def restyle_text(text: str, style: NumberStyle, dates: str | None) -> str:
    """``text`` with every number written in ``style`` and every date in the format ``dates`` (None: dates
    as they are). Numbers never reach across "。" or "；", so the text is restyled sentence by sentence."""
    return "".join(_restyle_sentence(s, style, dates) for s in _pieces(text))


@lru_cache(maxsize=8192)
def _pieces(text: str) -> tuple[str, ...]:
    return tuple(s for s in _PIECE_END.split(text) if s)


def restyle(sections: Mapping[str, str], style: NumberStyle, fixed: frozenset[str]) -> dict[str, str]:
    """Every section but the ``fixed`` ones with its numbers and dates written in ``style``."""
    dates = record_date_style(sections, style, fixed)
    return {name: text if name in fixed else restyle_text(text, style, dates) for name, text in sections.items()}
