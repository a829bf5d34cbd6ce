"""Patient identifiers in text, found with the table of identifier kinds in ``identifiers.toml``."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.errors import InputError

TABLE = Path(__file__).with_name("identifiers.toml")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_checksum(value: str) -> bool:
    """GB 11643: the 18th character is fixed by a weighted sum of the first 17 digits."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


CHECKS: dict[str, Callable[[str], bool]] = {"resident_id_checksum": resident_id_checksum}


@dataclass(frozen=True)
class IdentifierPattern:
    """One row of the table."""

    kind: str
    label: str
    description: str
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class Hit:
    """An identifier found in a text: ``text[start:end] == value``."""

    kind: str
    label: str
    start: int
    end: int
    value: str


def _expand(pattern: str, vocabulary: dict[str, str]) -> str:
    # str.format would choke on the regex's own braces ({2,4}); only the named words are replaced.
    for name, value in vocabulary.items():
        pattern = pattern.replace("{" + name + "}", value)
    return pattern


def parse_table(text: str, source: str = "identifiers.toml") -> tuple[IdentifierPattern, ...]:
    """The table's rows, every problem named by its row (a broken table refuses to gate anything)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{source}: not a valid TOML file: {e}") from None
    vocabulary = {k: str(v) for k, v in (data.get("vocabulary") or {}).items()}
    rows, problems = [], []
    for i, entry in enumerate(data.get("identifier") or [], 1):
        where = f"{source} [[identifier]] {i} ({entry.get('kind', '?')})"
        missing = [k for k in ("kind", "label", "description", "pattern") if not entry.get(k)]
        if missing:
            problems.append(f"{where}: needs {', '.join(missing)}")
            continue
        check = entry.get("check")
        if check is not None and check not in CHECKS:
            problems.append(f"{where}: check {check!r} is not one of {', '.join(CHECKS)}")
            continue
        try:
            compiled = re.compile(_expand(entry["pattern"], vocabulary))
        except re.error as e:
            problems.append(f"{where}: pattern does not compile: {e}")
            continue
        rows.append(IdentifierPattern(entry["kind"], entry["label"], entry["description"], compiled, CHECKS.get(check)))
    if problems or not rows:
        raise InputError(f"{source}: the identifier table is unusable", problems or ["it has no [[identifier]] rows"])
    return tuple(rows)


@lru_cache(maxsize=1)
def identifier_table() -> tuple[IdentifierPattern, ...]:
    return parse_table(TABLE.read_text(encoding="utf-8"), str(TABLE.name))


#: Separators people put inside a long number (138 1234 5678, 138.1234.5678, 0531—8877 6655, 110101 19500305 1234):
#: dropped between two runs of 3 or more digits, so that one pattern sees one number. Shorter runs keep theirs —
#: 36.5, 2024-03-12 and 130/80 stay as written.
_DIGIT_SEPARATOR = re.compile(r"(?<=\d{3})[ \t.\-‐‑‒–—―·・](?=\d{3})")


def normalize(text: str) -> tuple[str, list[int]]:
    """``text`` as the patterns read it — NFKC (full-width digits, letters and colons become ASCII) with separators
    inside long numbers dropped — and, for each of its characters, the index of the character of ``text`` it came
    from (plus one past the end), so that a match is a span of the original text."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch
        out.append(folded)
        index.extend([i] * len(folded))
    norm = "".join(out)
    kept = [True] * len(norm)
    for m in _DIGIT_SEPARATOR.finditer(norm):
        kept[m.start()] = False
    chars = [c for c, k in zip(norm, kept, strict=True) if k]
    where = [i for i, k in zip(index, kept, strict=True) if k]
    return "".join(chars), [*where, len(text)]


def detect(text: str, table: tuple[IdentifierPattern, ...] | None = None) -> list[Hit]:
    """Every identifier in ``text``, in order; where two patterns overlap, the earlier, then the longer, wins. The
    patterns read :func:`normalize`'s view; a hit's span and value are the original text's."""
    norm, index = normalize(text)
    found: list[tuple[int, int, int, Hit]] = []
    for order, row in enumerate(table or identifier_table()):
        for m in row.pattern.finditer(norm):
            group = "value" if "value" in row.pattern.groupindex else 0
            n_start, n_end = m.span(group)
            if n_start == n_end or (row.check and not row.check(m.group(group))):
                continue
            start, end = index[n_start], index[n_end - 1] + 1
            found.append((start, -(end - start), order, Hit(row.kind, row.label, start, end, text[start:end])))
    hits: list[Hit] = []
    for _start, _length, _order, hit in sorted(found, key=lambda f: f[:3]):
        if hits and hit.start < hits[-1].end:
            continue
        hits.append(hit)
    return hits
