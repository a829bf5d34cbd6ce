"""Parsers for model and submission outputs, tolerant of the mess real models write.

Two forms are read everywhere in the project:
- the submission form ``[I20.000|I25.103;E78.500]`` (principal, then other codes);
- the reasoning form ``<think>…</think><answer>…</answer>``, whose answer holds disease names or codes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.domain.codes import is_code, normalise_code, split_code_list

_FOLD = str.maketrans(
    {"【": "[", "】": "]", "［": "[", "］": "]", "｜": "|", "＜": "<", "＞": ">", "／": "/", "：": ":"}
)
_BRACKETED_RE = re.compile(r"\[([^\[\]]*)\]")
_ANSWER_RE = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S | re.I)
_WELL_FORMED_RE = re.compile(r"^\s*<think>.*?</think>\s*<answer>(.*?)</answer>\s*$", re.S)
_ITEM_SPLIT_RE = re.compile(r"[;；,，、\n|]+")
# List numbering ("1." "2、" "3)") or bullets at the start of the answer or right after a separator.
_ENUM_RE = re.compile(r"(^|[;；,，、\n|])\s*(?:\d{1,2}\s*[.、)）]|[-*•])\s*")


@dataclass(frozen=True)
class Parsed:
    """A parsed prediction: the principal code (None if absent) and the other codes."""

    main: str | None
    others: tuple[str, ...]


def parse_submission(text: str) -> Parsed | None:
    """Read ``[main|o1;o2]``; returns None when nothing of that form is in the text.

    Tolerates full-width brackets, bars and semicolons, spaces, a missing bracket pair, and text
    around the brackets (the last bracketed group holding a ``|`` wins).
    """
    parts = _submission_parts(text)
    if parts is None:
        return None
    head, tail = parts
    main = normalise_code(head)
    others, _bad = split_code_list(tail)
    return Parsed(main if is_code(main) else None, tuple(c for c in others if c != main))


_SUBMITTED_SPLIT_RE = re.compile(r"[;；,，\s]+")


def submitted_labels(text: str) -> Parsed | None:
    """Read ``[main|o1;o2]`` exactly as submitted, for scoring: the other codes split on ``;`` ``；`` ``,``
    ``，`` and whitespace, stripped, duplicates once; a principal code repeated among them stays; no code is
    normalised. Brackets and bars may be full-width (the form, not the codes). None when there is no such form.
    """
    parts = _submission_parts(text)
    if parts is None:
        return None
    head, tail = parts
    others = dict.fromkeys(c for c in _SUBMITTED_SPLIT_RE.split(tail.strip()) if c)
    return Parsed(head.strip() or None, tuple(others))


def _submission_parts(text: str) -> tuple[str, str] | None:
    """The principal and other-codes parts of the last ``[main|others]`` group (full-width forms folded)."""
    folded = text.translate(_FOLD)
    groups = [g for g in _BRACKETED_RE.findall(folded) if "|" in g]
    body = groups[-1] if groups else (folded if "|" in folded else None)
    if body is None:
        return None
    head, _, tail = body.strip().strip("[]").partition("|")
    return head, tail


def answer_text(text: str) -> str | None:
    """The content of the last ``<answer>`` block (an unclosed one runs to the end), else None."""
    found = _ANSWER_RE.findall(text.translate(_FOLD))
    return found[-1].strip() if found else None


def is_well_formed(text: str) -> bool:
    """Exactly one think block, then one non-empty answer block, nothing else around them."""
    m = _WELL_FORMED_RE.match(text)
    return bool(m and m.group(1).strip() and text.count("<think>") == 1 and text.count("<answer>") == 1)


def answer_items(text: str) -> list[str]:
    """The items of an answer: split on separators and new lines, list numbering removed."""
    body = answer_text(text)
    return _items(text if body is None else body)


_MULTI_LABEL_RE = re.compile(r"^\s*(主要诊断|其他诊断)\s*:?\s*", re.M)


def multi_answer_items(text: str) -> tuple[list[str], list[str]]:
    """The multi-task answer (``主要诊断：…`` then ``其他诊断：…``) as (principal items, other items).

    Each label starts its part, which runs to the next label; an answer without labels is read as a
    principal answer only (a model that ignored the form earns no other codes by accident).
    """
    body = answer_text(text)
    if body is None:
        body = text.translate(_FOLD)
    parts = _MULTI_LABEL_RE.split(body)
    found: dict[str, str] = {}
    for label, content in zip(parts[1::2], parts[2::2], strict=True):
        found.setdefault(label, content)
    if not found:
        return _items(body), []
    return _items(found.get("主要诊断", "")), _items(found.get("其他诊断", ""))


def _items(body: str) -> list[str]:
    items = []
    for raw in _ITEM_SPLIT_RE.split(_ENUM_RE.sub(r"\1", body)):
        item = raw.strip().strip("。.\"'“”「」")
        if item and item not in items:
            items.append(item)
    return items


def items_to_codes(items: list[str], name_to_code: Mapping[str, str]) -> list[str]:
    """Map disease names (or codes) back to codes; unknown items are dropped.

    Names are matched exactly, then with spaces and brackets folded, so ``高血压病3级(极高危)`` and
    ``高血压病3级（极高危）`` are the same disease.
    """
    folded = {_fold_name(n): c for n, c in name_to_code.items()}
    known_codes = set(name_to_code.values())
    codes: list[str] = []
    for item in items:
        code = name_to_code.get(item) or folded.get(_fold_name(item))
        if code is None:
            candidate = normalise_code(item)
            code = candidate if candidate in known_codes else None
        if code is not None and code not in codes:
            codes.append(code)
    return codes


def _fold_name(name: str) -> str:
    return re.sub(r"\s+", "", name.translate(str.maketrans("（）［］", "()[]")))
