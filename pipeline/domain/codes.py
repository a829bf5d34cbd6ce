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
