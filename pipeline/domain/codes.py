"""ICD-10 codes: normalising, splitting code lists, and checking them against a known set."""

from __future__ import annotations

import re

# Clinical edition 2.0 codes: a chapter letter, two digits, then subdivisions, "x" extensions,
# dagger/asterisk pairs and morphology codes (M8000/0), e.g. I10.x00x032, E10.500†H28.0*.
CODE_RE = re.compile(r"^[A-Z][0-9]{2}[0-9A-Za-z.†*/+]*$")

# Separators seen in real code lists: ASCII and full-width semicolons, commas and the ideographic comma.
_LIST_SPLIT_RE = re.compile(r"[;；,，、]")
_FULLWIDTH = str.maketrans({"．": ".", "　": " ", "Ｘ": "x", "／": "/", "＊": "*"})


def normalise_code(raw: str) -> str:
    """Strip spaces, fold full-width characters, upper-case letters but the extension ``x``."""
    code = raw.translate(_FULLWIDTH).replace(" ", "").strip()
    # Chapter X exists (external causes), so only letters after the first fold to the extension "x".
    return code[:1].upper() + "".join("x" if ch in "xX" else ch.upper() for ch in code[1:])


def is_code(text: str) -> bool:
    return bool(CODE_RE.match(text))


def split_code_list(raw: str) -> tuple[list[str], list[str]]:
    """Split ``"A;B；C"`` into normalised codes; returns (codes, malformed items).

    Empty items (a trailing ``;``) are dropped; duplicates are kept once, in first-seen order.
    """
    codes: list[str] = []
    bad: list[str] = []
    for item in _LIST_SPLIT_RE.split(raw):
        if not item.strip():
            continue
        code = normalise_code(item)
        if not is_code(code):
            bad.append(item.strip())
        elif code not in codes:
            codes.append(code)
    return codes, bad


#: The 22 chapters of ICD-10, each as the first and last three-character category it spans (chapter II,
#: neoplasms, runs C00–D48; chapter III, blood, D50–D89: a chapter is a range, not a letter).
CHAPTERS: tuple[tuple[str, str], ...] = (
    ("A00", "B99"), ("C00", "D48"), ("D50", "D89"), ("E00", "E90"), ("F00", "F99"), ("G00", "G99"),
    ("H00", "H59"), ("H60", "H95"), ("I00", "I99"), ("J00", "J99"), ("K00", "K93"), ("L00", "L99"),
    ("M00", "M99"), ("N00", "N99"), ("O00", "O99"), ("P00", "P96"), ("Q00", "Q99"), ("R00", "R99"),
    ("S00", "T98"), ("V01", "Y98"), ("Z00", "Z99"), ("U00", "U85"),
)  # fmt: skip
#: Partial credit of a predicted code against a gold one: the same code, the same category (its first three
#: characters), the same chapter; anything else earns nothing.
CREDIT_CODE, CREDIT_CATEGORY, CREDIT_CHAPTER = 1.0, 0.5, 0.25


def chapter(code: str) -> int | None:
    """The ICD-10 chapter (1–22) of a code, None when its category lies in none."""
    category = code[:3]
    for number, (first, last) in enumerate(CHAPTERS, start=1):
        if first <= category <= last:
            return number
    return None


def code_credit(predicted: str, gold: str) -> float:
    """How close a predicted code is to the gold one, by the hierarchy: code > category > chapter > nothing."""
    if predicted == gold:
        return CREDIT_CODE
    if len(gold) >= 3 and predicted[:3] == gold[:3]:
        return CREDIT_CATEGORY
    same = chapter(predicted)
    return CREDIT_CHAPTER if same is not None and same == chapter(gold) else 0.0
