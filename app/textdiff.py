"""Character-level differences between an original section and its rewrite, as escaped HTML.

Record text is escaped before any markup is added, so markup or script inside a record is shown as
text and never interpreted.

A character diff of two whole sections is quadratic (44 s for one 100,000-character section), so the diff
narrows first: the common start and end are cut off, then lines, then sentences, then clauses are matched,
and characters are compared only inside the chunks that differ. A chunk still too large to compare by
characters is shown whole, as removed and added (a coarse diff, never a slow one).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from difflib import SequenceMatcher

_DEL = '<del style="background:#fde2e1;text-decoration:line-through">{}</del>'
_INS = '<ins style="background:#d8f5d0;text-decoration:none">{}</ins>'

#: Coarser to finer: lines, sentences, clauses; each piece keeps its closing delimiter.
_LEVELS = (re.compile(r"[^\n]*\n|[^\n]+"), re.compile(r"[^。！？；!?;]*[。！？；!?;]|[^。！？；!?;]+"))
_LEVELS += (re.compile(r"[^，,、：:\s]*[，,、：:\s]|[^，,、：:\s]+"),)
#: Largest product of two lengths compared character by character: about 0.1 s at worst on one core.
CHAR_CAP = 1_000_000
#: Most pieces of one level compared at once (both sides together). Pieces are matched with difflib's
#: autojunk, which ignores pieces repeated throughout a text as match starts: without it a text of a few
#: repeated sentences takes minutes to match; with it, tens of milliseconds.
PIECE_CAP = 40_000

#: (equal, original part, variant part)
Chunk = tuple[bool, str, str]


def diff_chunks(original: str, variant: str) -> list[Chunk]:
    """The two texts as a sequence of equal and changed chunks: the originals' parts joined give
    ``original``, the variants' parts joined give ``variant``."""
    chunks: list[Chunk] = []
    for equal, a, b in _diff(original, variant, 0):
        if not a and not b:
            continue
        if chunks and chunks[-1][0] == equal:  # adjacent chunks of one kind read as one
            _, pa, pb = chunks[-1]
            chunks[-1] = (equal, pa + a, pb + b)
        else:
            chunks.append((equal, a, b))
    return chunks


def _diff(a: str, b: str, level: int) -> Iterator[Chunk]:
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    yield True, a[:head], b[:head]
    yield from _middle(a[head : len(a) - tail], b[head : len(b) - tail], level)
    yield True, a[len(a) - tail :], b[len(b) - tail :]


def _middle(a: str, b: str, level: int) -> Iterator[Chunk]:
    if not a or not b:
        yield False, a, b
        return
    if len(a) * len(b) <= CHAR_CAP:
        yield from _matched(list(a), list(b), a, b, None)
        return
    for pattern in _LEVELS[level:]:
        level += 1
        pieces_a, pieces_b = pattern.findall(a), pattern.findall(b)
        if len(pieces_a) + len(pieces_b) > PIECE_CAP:
            break
        if len(pieces_a) > 1 or len(pieces_b) > 1:
            yield from _matched(pieces_a, pieces_b, a, b, level)
            return
    yield False, a, b  # too large to compare finer in time: shown whole


def _matched(items_a: list[str], items_b: list[str], a: str, b: str, level: int | None) -> Iterator[Chunk]:
    """Match items (characters or pieces); a changed run of pieces is compared again one level finer."""
    starts_a = _offsets(items_a)
    starts_b = _offsets(items_b)
    matcher = SequenceMatcher(None, items_a, items_b, autojunk=level is not None)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        part_a, part_b = a[starts_a[a0] : starts_a[a1]], b[starts_b[b0] : starts_b[b1]]
        if op == "equal":
            yield True, part_a, part_b
        elif level is None:
            yield False, part_a, part_b
        else:
            yield from _diff(part_a, part_b, level)


def _offsets(items: list[str]) -> list[int]:
    out = [0]
    for item in items:
        out.append(out[-1] + len(item))
    return out


def diff_html(original: str, variant: str) -> tuple[str, str]:
    """(original with deletions marked, variant with insertions marked)."""
    left: list[str] = []
    right: list[str] = []
    for equal, part_a, part_b in diff_chunks(original, variant):
        a, b = html.escape(part_a), html.escape(part_b)
        if equal:
            left.append(a)
            right.append(b)
            continue
        if a:
            left.append(_DEL.format(a))
        if b:
            right.append(_INS.format(b))
    return "".join(left), "".join(right)


def diff_text(original: str, variant: str) -> str:
    """The variant with its changes marked for a terminal: ``[-removed-]{+added+}`` (git's word-diff style)."""
    out: list[str] = []
    for equal, part_a, part_b in diff_chunks(original, variant):
        if equal:
            out.append(part_b)
            continue
        if part_a:
            out.append(f"[-{part_a}-]")
        if part_b:
            out.append(f"{{+{part_b}+}}")
    return "".join(out)
