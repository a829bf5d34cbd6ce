"""Checking records against the task's rules: every problem named by record id (or row) and field."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.domain.codes import is_code, normalise_code, split_code_list
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS

#: Characters one record's sections may hold together: generous, a real discharge record holds a few thousand.
DEFAULT_MAX_RECORD_CHARS = 200_000


#: The 病案标识 grammar: printable characters, no path separator, no leading formula sign, at most this long. An id
#: is shown on pages, names files and folders, and lands in spreadsheets and CSV files people open.
MAX_ID_CHARS = 64
_FORMULA_START = "=+-@"
#: Control characters a section may not hold (tab and line breaks are text): NUL cannot be stored in PostgreSQL,
#: and an escape sequence would reach every terminal that prints the record.
_CONTROL = frozenset(chr(c) for c in [*range(32), 127] if chr(c) not in "\t\n\r")
#: A number read from a spreadsheet cell is exact only up to 15 significant digits (IEEE double).
_EXACT_DIGITS = 15


def case_id_problem(case_id: str) -> str | None:
    """Why ``case_id`` is not a valid 病案标识 (quoted safely), or None."""
    shown = repr(case_id if len(case_id) <= MAX_ID_CHARS else case_id[:MAX_ID_CHARS] + "…")
    if len(case_id) > MAX_ID_CHARS:
        return f"{ID_KEY} {shown} has {len(case_id)} characters, over the limit of {MAX_ID_CHARS}"
    odd = next((c for c in case_id if not c.isprintable()), None)
    if odd is not None:
        return f"{ID_KEY} {shown} holds the control character U+{ord(odd):04X}"
    if "/" in case_id or "\\" in case_id:
        return f"{ID_KEY} {shown} holds a path separator"
    if case_id[0] in _FORMULA_START:
        return f"{ID_KEY} {shown} starts with {case_id[0]!r}, which a spreadsheet runs as a formula"
    return None


def _id_text(value: Any) -> str:
    """The id cell as text; a spreadsheet number past 15 digits has lost digits already, so it is refused."""
    if isinstance(value, float) and abs(value) >= 10**_EXACT_DIGITS:
        raise ValueError(
            f"{ID_KEY} was stored as the number {value!r}, which has lost its last digits: store the column as text"
        )
    return (_as_text(value) or "").strip()


@dataclass(frozen=True)
class CodeBook:
    """What codes are known: the dictionary and the label space (principal and other roles)."""

    principal: Mapping[str, str]
    other: Mapping[str, str]
    dictionary: Collection[str]

    def describe(self, code: str) -> str:
        """Why ``code`` is not acceptable as an other-diagnosis code."""
        if code in self.dictionary or code in self.principal:
            return f"code {code!r} is in the ICD dictionary but not among the task's other-diagnosis codes"
        return f"code {code!r} is not in the ICD dictionary nor in the label space"


@dataclass(frozen=True)
class CleanRecord:
    case_id: str
    sections: dict[str, str]
    principal_code: str | None
    other_codes: list[str] | None
    content_hash: str
    row: int

    @property
    def labelled(self) -> bool:
        return self.principal_code is not None


def _as_text(value: Any) -> str | None:
    """Cell values as text: xlsx gives numbers for numeric ids; lists and objects are not text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def content_hash(sections: Mapping[str, str], principal: str | None, others: Sequence[str] | None) -> str:
    payload = json.dumps([sections, principal, others], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def validate_records(
    rows: Sequence[Mapping[str, Any]], book: CodeBook, max_record_chars: int = DEFAULT_MAX_RECORD_CHARS
) -> tuple[list[CleanRecord], list[str]]:
    """Clean records and the list of every problem found; the caller imports only when it is empty.

    A record whose sections hold more than ``max_record_chars`` characters together is refused: one huge
    record would slow every page and model that reads it (a real discharge record is a few thousand)."""
    clean: list[CleanRecord] = []
    problems: list[str] = []
    first_row: dict[str, int] = {}
    for row_no, row in enumerate(rows, 1):
        errs: list[str] = []
        try:
            case_id = _id_text(row.get(ID_KEY))
        except ValueError as e:
            case_id = ""
            errs.append(str(e))
        bad_id = case_id_problem(case_id) if case_id else None
        where = f"record {case_id} (row {row_no})" if case_id and not bad_id else f"row {row_no}"
        if bad_id:
            errs.append(bad_id)
        elif not case_id:
            if not errs:  # not already refused as a lossy number
                errs.append(f"field {ID_KEY} is missing or empty")
        elif case_id in first_row:
            errs.append(f"{ID_KEY} {case_id!r} repeats row {first_row[case_id]} of the same file")
        else:
            first_row[case_id] = row_no

        sections: dict[str, str] = {}
        for name in TEXT_SECTIONS:
            if name not in row:
                errs.append(f"section {name} is missing")
                continue
            text = _as_text(row[name])
            if text is None:
                errs.append(f"section {name} is not text (found {type(row[name]).__name__})")
            elif not text.strip():
                errs.append(f"section {name} is empty")
            elif any(c in _CONTROL for c in text):
                odd = next(c for c in text if c in _CONTROL)
                errs.append(f"section {name} holds the control character U+{ord(odd):04X}")
            else:
                sections[name] = text

        size = sum(len(text) for text in sections.values())
        if size > max_record_chars:
            errs.append(
                f"the record's sections hold {size:,} characters, over the limit of {max_record_chars:,} "
                "(SRADIT_MAX_RECORD_CHARS)"
            )
        principal, others = _validate_labels(row, book, errs)
        problems.extend(f"{where}: {e}" for e in errs)
        if not errs:
            clean.append(
                CleanRecord(case_id, sections, principal, others, content_hash(sections, principal, others), row_no)
            )
    return clean, problems


def _validate_labels(row: Mapping[str, Any], book: CodeBook, errs: list[str]) -> tuple[str | None, list[str] | None]:
    raw_main = _as_text(row.get(MAIN_KEY)) or ""
    raw_other = _as_text(row.get(OTHER_KEY)) or ""
    if not raw_main.strip() and not raw_other.strip():
        return None, None  # an unlabelled record (a test set)
    if not raw_main.strip():
        errs.append(f"field {MAIN_KEY} is empty but {OTHER_KEY} is given")
        return None, None
    if not raw_other.strip():
        errs.append(f"field {OTHER_KEY} is empty but {MAIN_KEY} is given (every record has 1–7 other codes)")
        return None, None

    principal = normalise_code(raw_main)
    if not is_code(principal):
        errs.append(f"field {MAIN_KEY}: {raw_main.strip()!r} is not an ICD-10 code")
    elif principal not in book.principal:
        errs.append(
            f"field {MAIN_KEY}: {principal!r} is not one of the task's principal codes ({', '.join(book.principal)})"
        )
    others, malformed = split_code_list(raw_other)
    for item in malformed:
        errs.append(f"field {OTHER_KEY}: malformed code list: {item!r} is not an ICD-10 code (in {raw_other!r})")
    for code in others:
        if code not in book.other:
            errs.append(f"field {OTHER_KEY}: {book.describe(code)}")
    if principal in others:
        errs.append(f"field {OTHER_KEY} repeats the principal code {principal!r}")
    if not others and not malformed:
        errs.append(f"field {OTHER_KEY}: no code in {raw_other!r}")
    return principal, others
