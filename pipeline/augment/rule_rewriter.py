"""Rule-based rewrites: label-preserving variants of a record, made without a model.

Four kinds of edit, each one of which leaves what the record says unchanged:

* ``synonym`` — a surface form replaced by another form of its group in :mod:`pipeline.domain.synonyms`
  (冠心病 ↔ 冠状动脉粥样硬化性心脏病, 房颤 ↔ 心房颤动, 糖化血红蛋白 ↔ HbA1c …); diagnoses are only ever
  swapped for exact synonyms, never for a broader or narrower term, and nothing of
  :data:`pipeline.domain.style_rules.FORBIDDEN` (不稳定性心绞痛, 抽烟, EKG …) is ever written;
* ``reorder`` — the items of a list put in another order: negated items ("无胸痛、胸闷、气短" →
  "无气短、胸痛、胸闷"), runs of negated clauses ("无头痛，无腹痛，无恶心" in another order), and the
  items of a treatment or symptom list ("给予抗血小板、调脂、降压等治疗");
* ``sentence-order`` — independent sentences moved among themselves: runs of negation sentences
  ("否认输血史。否认外伤史。"), relatives in 家族史, and the separate examination or laboratory results
  of 诊疗经过 ("甘油三酯：2.16mmol/L；糖化血红蛋白：6.9%"); numbered lists (入院诊断, 出院医嘱) never move;
* ``number-format`` — the numbers and dates of the whole record written in one style chosen for the variant
  (:mod:`pipeline.augment.number_style`: one date format, "3小时" · "3h" · "三小时", one range separator …),
  each keeping the value that :mod:`pipeline.domain.facts` reads ("2023-06-30" ↔ "2023年6月30日",
  "每日1次" ↔ "每日一次", "200mmHg" ↔ "200 mmHg"). Numbers in 入院诊断 are left alone.

Every edit is checked: a section whose facts (:func:`pipeline.domain.facts.section_facts`) would change is
put back, edit kind by edit kind, so ``compare_facts(original, variant) == ([], [])`` holds for every
variant returned. Generation is deterministic for a given record, ``n`` and ``seed``.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from pipeline.augment.number_style import choose_style, restyle
from pipeline.domain.facts import facts_digest, normalise_width, section_facts, strip_history
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.domain.style_rules import FORBIDDEN, swaps_type_for_nature
from pipeline.domain.synonyms import alternatives, canonical, find_forms, fits, synonymous

DIAGNOSIS_SECTION = "入院诊断"
#: Sections whose numbers and dates are written as they stand.
_NUMBERS_FIXED = frozenset({DIAGNOSIS_SECTION})
#: Sections with numbered lists whose sentences never move.
_NUMBERED = frozenset({"入院诊断", "出院医嘱"})
#: Sections whose examination / laboratory results may be put in another order.
_RESULT_SECTIONS = frozenset({"诊疗经过"})


@dataclass(frozen=True)
class RuleVariant:
    sections: dict[str, str]  # all 11 text sections
    edits: tuple[str, ...]  # which edits made it, e.g. "synonym:冠心病→冠状动脉粥样硬化性心脏病"


# ---------------------------------------------------------------------------------------------------
# Reordering lists, clauses and sentences
# ---------------------------------------------------------------------------------------------------

_NEG_CUE = r"(?<!有)(?:否认|未闻及|未触及|未见|未诉|不伴有|不伴|无(?![法创菌锡力尿名效误关论须需从数疑]))"
_ITEMS = r"(?P<items>[\u4e00-\u9fff]+(?:、[\u4e00-\u9fff]+)+)"
_NEG_LIST = re.compile(rf"(?=[否未不无])(?P<cue>{_NEG_CUE})(?P<q>[“\"]?)(?P<mod>明显)?{_ITEMS}")
_GEN_LIST = re.compile(
    r"(?=[给予伴出])(?P<cue>给予|予以|(?<!不)伴有|(?<![不有])伴|出现)(?P<q>[“\"]?)(?P<mod>)" + _ITEMS
)
_ITEM_BAD_CHARS = set("于后时伴经给予行为是但并且再又仍曾可有无未否示在")
_ITEM_BAD_WORDS = ("出现", "发生", "诱因")
_LAST_ITEM_CUT = re.compile(r"等|(?<![涉波危])及|(?<!饱)和|并")  # where the last item ends ("血氧饱和度" is whole)


def _list_items(items_text: str, negated: bool) -> tuple[list[str], str] | None:
    """The items of a 、-list and the text after the last item that stays in place, or None when the
    list is not a plain list of short terms."""
    items = items_text.split("、")
    suffix = ""
    cut = _LAST_ITEM_CUT.search(items[-1])
    if cut:
        items[-1], suffix = items[-1][: cut.start()], items[-1][cut.start() :]
    elif negated and not any(strip_history(i)[1] for i in items[:-1]):
        # "否认高血压、糖尿病病史": 病史 belongs to the whole list and stays at its end; in
        # "否认吸烟史、饮酒史" every item carries its own 史 and moves with it
        items[-1], suffix = strip_history(items[-1])
    for item in items:
        if not 2 <= len(item) <= 8 or any(c in _ITEM_BAD_CHARS for c in item):
            return None
        if any(w in item for w in _ITEM_BAD_WORDS):
            return None
    return items, suffix


def _shuffled(items: list, rng: random.Random) -> list | None:
    """A different order of ``items`` (None when every order reads the same)."""
    if len(set(items)) < 2:
        return None
    for _ in range(8):
        out = items[:]
        rng.shuffle(out)
        if out != items:
            return out
    return None


ListSpan = tuple[int, int, str, tuple[str, ...], str]  # start, end, head (cue …), items, suffix


@lru_cache(maxsize=8192)
def _list_spans(text: str, negated: bool) -> tuple[ListSpan, ...]:
    """The lists of ``text`` whose items may be put in another order."""
    spans: list[ListSpan] = []
    for m in (_NEG_LIST if negated else _GEN_LIST).finditer(text):
        parsed = _list_items(m.group("items"), negated)
        if parsed is None or len(set(parsed[0])) < 2:
            continue
        head = m.group("cue") + m.group("q") + (m.group("mod") or "")
        spans.append((m.start(), m.end(), head, tuple(parsed[0]), parsed[1]))
    return tuple(spans)


def _permute_lists(text: str, rng: random.Random, p: float, negated: bool) -> str:
    out: list[str] = []
    pos = 0
    for start, end, head, items, suffix in _list_spans(text, negated):
        if rng.random() >= p:
            continue
        order = _shuffled(list(items), rng)
        if order is None:
            continue
        out += [text[pos:start], head, "、".join(order), suffix]
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


_CLAUSE_CUE = re.compile(r"^(?:否认|无(?![法创菌锡力尿名效误关论须需从数疑])|未见|未闻及|未触及|未诉|不伴)")
_NARRATIVE = re.compile(r"出现|发生|诱因|于|后|时|再次|仍|经|给予|予以|入院|出院")
_UNIT_END = re.compile(r"(?<=[。；;])")
_PIECE_END = re.compile(r"(?<=[。；;])")
_CLAUSE_SEP = re.compile(r"([，,])")


def _balanced(text: str) -> bool:
    return (
        text.count("“") == text.count("”")
        and text.count("（") == text.count("）")
        and text.count("(") == text.count(")")
        and text.count('"') % 2 == 0
    )


Run = tuple[int, int]  # parts[i:j] may be put in another order


def _runs(movable: list[bool]) -> tuple[Run, ...]:
    """The maximal runs (two or more) of consecutive movable parts."""
    runs, i = [], 0
    while i < len(movable):
        if not movable[i]:
            i += 1
            continue
        j = i
        while j < len(movable) and movable[j]:
            j += 1
        if j - i >= 2:
            runs.append((i, j))
        i = j
    return tuple(runs)


def _permute_runs(parts: list[str], runs: tuple[Run, ...], rng: random.Random, p: float) -> bool:
    """Shuffle, in place, each run with probability ``p``. Whether anything moved."""
    changed = False
    for i, j in runs:
        if rng.random() < p:
            order = _shuffled(parts[i:j], rng)
            if order is not None:
                parts[i:j] = order
                changed = True
    return changed


def _split_units(text: str) -> tuple[list[str], list[str]]:
    """Sentences (bodies) and their terminators (。 ； or nothing at the very end)."""
    bodies, ends = [], []
    for unit in _UNIT_END.split(text):
        if not unit:
            continue
        if unit[-1] in "。；;":
            bodies.append(unit[:-1])
            ends.append(unit[-1])
        else:
            bodies.append(unit)
            ends.append("")
    return bodies, ends


def _join_units(bodies: list[str], ends: list[str]) -> str:
    return "".join(b + e for b, e in zip(bodies, ends, strict=True))


SentenceClauses = tuple[int, tuple[str, ...], tuple[str, ...], tuple[Run, ...]]  # index, clauses, separators, runs
ClauseLayout = tuple[tuple[str, ...], tuple[str, ...], tuple[SentenceClauses, ...]]


@lru_cache(maxsize=8192)
def _clause_layout(text: str) -> ClauseLayout:
    """Sentences, terminators, and for each sentence with runs of negated clauses: (index, clauses,
    separators, runs)."""
    bodies, ends = _split_units(text)
    layout = []
    for k, body in enumerate(bodies):
        pieces = _CLAUSE_SEP.split(body)
        clauses, seps = pieces[0::2], pieces[1::2]
        if len(clauses) < 2:
            continue
        movable = [
            bool(_CLAUSE_CUE.match(c)) and not _NARRATIVE.search(c) and _balanced(c) and len(c) <= 30 for c in clauses
        ]
        runs = _runs(movable)
        if runs:
            layout.append((k, tuple(clauses), tuple(seps), runs))
    return tuple(bodies), tuple(ends), tuple(layout)


def _permute_clauses(text: str, rng: random.Random, p: float) -> str:
    """Runs of negated clauses inside a sentence ("无头痛、头胀，无腹痛，无恶心、呕吐") in another order."""
    bodies, ends, layout = _clause_layout(text)
    if not layout:
        return text
    new_bodies = list(bodies)
    changed = False
    for k, clauses, seps, runs in layout:
        parts = list(clauses)
        if _permute_runs(parts, runs, rng, p):
            changed = True
            new_bodies[k] = "".join(c + s for c, s in zip(parts, [*seps, ""], strict=True))
    return _join_units(new_bodies, list(ends)) if changed else text


_RELATIVE = re.compile(r"^(?:父|母|兄|哥|姐|弟|妹|儿|子|女|配偶|爱人|祖|外祖|叔|伯|姑|舅|姨)")
_RESULT_HEAD = re.compile(r"^(?P<head>[\u4e00-\u9fffA-Za-z0-9\-+/（）()]{2,24}?)(?:：|:|示|提示)(?P<value>.?)")
#: What an examination or a laboratory panel is called (a heading without one of these, such as
#: "室间隔基底段增厚：…", is a finding that goes on with the report before it, not a report of its own).
_EXAM_NAME = re.compile(
    r"超声|彩超|CT|心电图|MRI|磁共振|造影|X线|胸片|DR|动态血压|Holter|检查|分析|常规|功能|测定|全项|[二三四五六七八]项|生化"
)
_RESULT_NARRATIVE = re.compile(r"患者|入院|出院|给予|予以|治疗|完善|术后|术前|行|于|后")
_LIST_MARK = re.compile(r"^\s*(?:\d+\s*[.、．]|[（(]\d+[）)])")
_NOT_A_RESULT_HEAD = re.compile(r"^(?:查体|既往|体格检查|专科检查|辅助检查|主诉|现病史|结果)")


@lru_cache(maxsize=8192)
def _sentence_layout(text: str, section: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[Run, ...]]:
    """Sentences, terminators and the runs of consecutive independent sentences: negation sentences
    ("否认输血史。"), relatives in 家族史, separate results in 诊疗经过 ("甘油三酯：2.16mmol/L；")."""
    bodies, ends = _split_units(text)
    movable = []
    for k, body in enumerate(bodies):
        ok = _balanced(body) and not _LIST_MARK.match(body)
        nxt = bodies[k + 1] if k + 1 < len(bodies) else ""
        if ok and _LIST_MARK.match(nxt):
            ok = False  # the next sentence continues a numbered list begun here
        if _is_result(body, section):
            # a result moves only when the next sentence does not go on with it (a report's further
            # findings come without a heading of their own)
            ok = ok and (not nxt or _is_result(nxt, section) or bool(_RESULT_NARRATIVE.search(nxt)))
            movable.append(ok)
            continue
        kind = (bool(_CLAUSE_CUE.match(body)) and not _NARRATIVE.search(body)) or (
            section == "家族史" and bool(_RELATIVE.match(body))
        )
        movable.append(ok and kind)
    return tuple(bodies), tuple(ends), _runs(movable)


def _is_result(body: str, section: str) -> bool:
    """A separate examination or laboratory result of 诊疗经过 ("甘油三酯：2.16mmol/L", "胸部CT：…")."""
    if section not in _RESULT_SECTIONS or _NOT_A_RESULT_HEAD.match(body) or _RESULT_NARRATIVE.search(body):
        return False
    m = _RESULT_HEAD.match(body)
    # a named examination, or a laboratory value ("甘油三酯：2.16mmol/L")
    return bool(m) and (bool(_EXAM_NAME.search(m.group("head"))) or m.group("value") in set("0123456789<>≤≥+-"))


def _permute_sentences(text: str, section: str, rng: random.Random, p: float) -> str:
    """Independent sentences in another order, inside runs of consecutive independent sentences (each
    position keeps its own terminator)."""
    bodies, ends, runs = _sentence_layout(text, section)
    if not runs:
        return text
    parts = list(bodies)
    if not _permute_runs(parts, runs, rng, p):
        return text
    return _join_units(parts, list(ends))


# ---------------------------------------------------------------------------------------------------
# Synonyms
# ---------------------------------------------------------------------------------------------------


Slot = tuple[int, int, str, tuple[str, ...]]  # start, end, form, the forms that may replace it there


@lru_cache(maxsize=16384)
def _sentences(text: str) -> tuple[tuple[int, str], ...]:
    """The pieces of ``text`` (split after each "。" and "；") with their offsets. Surface forms, numbers
    and their neighbourhoods never reach across those, so what is found in a piece is cached by piece:
    a variant costs only the pieces that its edits touched."""
    out, pos = [], 0
    for sentence in _PIECE_END.split(text):
        if sentence:
            out.append((pos, sentence))
            pos += len(sentence)
    return tuple(out)


@lru_cache(maxsize=65536)
def _sentence_synonym_slots(text: str) -> tuple[Slot, ...]:
    """The surface forms of one sentence that may be swapped, each with the forms that may replace it
    there: a Latin abbreviation must stay a whole word, and the swap must not merge with its neighbours
    into another term (the neighbourhood reads the same, canonicalised, before and after)."""
    slots: list[Slot] = []
    for m in find_forms(text):
        alts = alternatives(m.group(0))
        if not alts:
            continue
        start, end = m.start(), m.end()
        before, after = text[max(0, start - 8) : start], text[end : end + 1]
        lo, hi = max(0, start - 16), min(len(text), end + 16)
        window = normalise_width(text[lo:hi])
        near = text[max(0, start - 12) : start] + "\x00" + text[end : end + 12]
        alts = tuple(
            a
            for a in alts
            if a not in FORBIDDEN  # never a misspelling, a colloquialism or an unused abbreviation
            and (canonical(a) == a or not swaps_type_for_nature(m.group(0), a))  # 型 ↔ 性 only to correct
            and fits(a, before, after)
            and a not in near  # "B型钠尿肽（BNP）" must not become "BNP（BNP）"
            and synonymous(window, normalise_width(text[lo:start] + a + text[end:hi]))
        )
        if alts:
            slots.append((start, end, m.group(0), alts))
    return tuple(slots)


# ---------------------------------------------------------------------------------------------------
# Synonyms (one pass over the section's own sentences)
# ---------------------------------------------------------------------------------------------------


def _glued(a: str, b: str) -> bool:
    return a.isascii() and b.isascii() and a.isalnum() and b.isalnum()


def _surface(text: str, rng: random.Random, p: float) -> tuple[str, list[str]]:
    chosen: list[tuple[int, int, str, str]] = []  # start, end, new text, synonym edit
    for off, sentence in _sentences(text):
        for start, end, form, alts in _sentence_synonym_slots(sentence):
            if rng.random() < p:
                new = alts[0] if len(alts) == 1 else rng.choice(alts)
                chosen.append((start + off, end + off, new, f"synonym:{form}→{new}"))
    if not chosen:
        return text, []
    out: list[str] = []
    labels: list[str] = []
    pos = 0
    last = ""
    for start, end, new, label in sorted(chosen, key=lambda c: (c[0], c[1])):
        if start < pos:
            continue  # overlaps a change already made
        if start == pos and last and _glued(last[-1], new[0]):
            continue  # two changes side by side would read as one word ("CAG" + "PCI" → "CAGPCI")
        out += [text[pos:start], new]
        last = new
        pos = end
        labels.append(label)
    out.append(text[pos:])
    return "".join(out), labels


# ---------------------------------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------------------------------

_KINDS = ("structure", "synonym", "number")


def _apply(stage: str, section: str, text: str, rng: random.Random, p: float) -> tuple[str, list[str]]:
    """One kind of edit on one section: the new text and the edits to record."""
    if stage == "synonym":
        return _surface(text, rng, p)
    if stage == "negated-list":
        new, label = _permute_lists(text, rng, p, True), f"reorder:{section} negations"
    elif stage == "negated-clauses":
        new, label = _permute_clauses(text, rng, p), f"reorder:{section} negations"
    elif stage == "list":
        new, label = _permute_lists(text, rng, p, False), f"reorder:{section} list"
    else:
        new, label = _permute_sentences(text, section, rng, p), f"sentence-order:{section}"
    return new, [label] if new != text else []


def _stages(section: str, kinds: set[str]) -> list[str]:
    # Synonyms first: they then read the sentences before any move, whose analysis is cached.
    stages = []
    if "synonym" in kinds:
        stages.append("synonym")
    if "structure" in kinds and section != DIAGNOSIS_SECTION:
        stages += ["negated-list", "negated-clauses", "list"]
        if section not in _NUMBERED:
            stages.append("sentence")
    return stages


def _restyled(original: Mapping[str, str], rng: random.Random, p: float) -> tuple[dict[str, str], list[str]]:
    """The record with its numbers and dates written in one style chosen for this variant (the original when
    the style would change what some section says: a style is applied to the whole record or not at all)."""
    style = choose_style(rng, p)
    restyled = restyle(original, style, _NUMBERS_FIXED)
    changed = [name for name in TEXT_SECTIONS if restyled[name] != original[name]]
    if any(section_facts(name, restyled[name]) != section_facts(name, original[name]) for name in changed):
        return dict(original), []
    return restyled, [f"number-format:{name}" for name in changed]


def _variant(original: Mapping[str, str], rng: random.Random) -> tuple[dict[str, str], list[str]]:
    p = rng.choice((0.3, 0.5, 0.7, 0.9))
    kinds = {k for k in _KINDS if rng.random() < 0.75} or {rng.choice(_KINDS)}
    base, edits = _restyled(original, rng, p) if "number" in kinds else (dict(original), [])
    sections: dict[str, str] = {}
    for name in TEXT_SECTIONS:
        text = base[name]
        stages = _stages(name, kinds) if text else []
        # All stages at once, checked once; only when the facts changed (rare), stage by stage, each
        # kept only if the facts still hold.
        new, labels = text, []
        for stage in stages:
            new, stage_labels = _apply(stage, name, new, rng, p)
            labels += stage_labels
        if new != text:
            facts = section_facts(name, original[name])
            if section_facts(name, new) == facts:
                text = new
                edits += labels
            else:
                for stage in stages:
                    candidate, stage_labels = _apply(stage, name, text, rng, p)
                    if candidate != text and section_facts(name, candidate) == facts:
                        text = candidate
                        edits += stage_labels
        sections[name] = text
    return sections, edits


def _record_key(sections: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    for name in TEXT_SECTIONS:
        h.update(sections[name].encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def rule_variants(sections: Mapping[str, str], n: int, seed: int = 0) -> list[RuleVariant]:
    """Up to ``n`` distinct label-preserving variants of a record (all 11 text sections), each differing
    from the original, each keeping every fact of :mod:`pipeline.domain.facts`. Deterministic for
    (``sections``, ``n``, ``seed``)."""
    original = {name: sections.get(name) or "" for name in TEXT_SECTIONS}
    if n <= 0:
        return []
    rng = random.Random(f"{seed}:{_record_key(original)}")
    seen = {tuple(original.values())}
    out: list[RuleVariant] = []
    for _ in range(10 * n + 20):
        if len(out) >= n:
            break
        variant, edits = _variant(original, rng)
        key = tuple(variant[name] for name in TEXT_SECTIONS)
        if key in seen:
            continue
        seen.add(key)
        out.append(RuleVariant(sections=variant, edits=tuple(dict.fromkeys(edits))))
    return out


def kept_variants(
    request: tuple[Mapping[str, str], int, int, int],
) -> list[tuple[dict[str, str], tuple[str, ...], str]]:
    """Variants ``start`` … ``start + n - 1`` of (sections, start, n, seed), each with the digest of its facts: the
    generator has just read every section's facts (it checks each edit against them), so they are kept with it."""
    sections, start, n, seed = request
    return [(v.sections, v.edits, facts_digest(v.sections)) for v in rule_variants(sections, start + n, seed)[start:]]
