"""The ICD-10 dictionary: importing it from TSV/CSV/xlsx, looking names up, and the code book for validation."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from db.engine import read_session, write_session
from db.models import Code, LabelCode
from pipeline.audit import audit
from pipeline.domain.codes import is_code, normalise_code
from pipeline.errors import InputError
from pipeline.ingest.readers import check_readable, read_text, xlsx_table
from pipeline.ingest.validation import CodeBook

DICTIONARY_SUFFIXES = (".tsv", ".csv", ".txt", ".xlsx")
# Header names accepted for the two columns: ours, and the public xlsx's.
_CODE_HEADERS = ("code", "疾病编码", "编码", "icd_code")
_NAME_HEADERS = ("name", "疾病名称", "名称", "icd_name")


@dataclass(frozen=True)
class DictionarySummary:
    inserted: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


def read_dictionary(path: Path, max_bytes: int) -> dict[str, str]:
    """code → name from a dictionary file; every bad row is reported with its 1-based row number."""
    suffix = check_readable(path, max_bytes, DICTIONARY_SUFFIXES)
    rows = list(xlsx_table(path)) if suffix == ".xlsx" else _text_table(path, "," if suffix == ".csv" else "\t")
    if not rows:
        raise InputError(f"{path}: the file is empty")
    header = [str(h or "").strip().lower() for h in rows[0]]
    code_col = next((i for i, h in enumerate(header) if h in _CODE_HEADERS), None)
    name_col = next((i for i, h in enumerate(header) if h in _NAME_HEADERS), None)
    if code_col is None or name_col is None:
        raise InputError(
            f"{path}: the header must name a code column ({'/'.join(_CODE_HEADERS)}) and a name column "
            f"({'/'.join(_NAME_HEADERS)}); found {rows[0]!r}"
        )
    codes: dict[str, str] = {}
    first_row: dict[str, int] = {}
    problems: list[str] = []
    for row_no, row in enumerate(rows[1:], 1):
        cells = [str(c).strip() if c is not None else "" for c in row]
        if not any(cells):
            continue
        raw_code = cells[code_col] if code_col < len(cells) else ""
        name = cells[name_col] if name_col < len(cells) else ""
        code = normalise_code(raw_code)
        if not is_code(code):
            problems.append(f"row {row_no}: {raw_code!r} is not an ICD-10 code")
        elif not name:
            problems.append(f"row {row_no}: code {code} has no name")
        elif code in codes and codes[code] != name:
            problems.append(f"row {row_no}: code {code} repeats row {first_row[code]} with another name")
        else:
            codes[code] = name
            first_row.setdefault(code, row_no)
    if problems:
        raise InputError(f"{path}: {len(problems)} problems; nothing was imported", problems)
    return codes


def _text_table(path: Path, delimiter: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(read_text(path), newline=""), delimiter=delimiter)]


def import_dictionary(engine: Engine, path: Path, max_bytes: int, actor: str) -> DictionarySummary:
    """Insert new codes and rename changed ones, all in one transaction; codes are never deleted."""
    codes = read_dictionary(path, max_bytes)
    with write_session(engine) as s:
        existing = dict(s.execute(select(Code.code, Code.name)).all())
        new = [{"code": c, "name": n} for c, n in codes.items() if c not in existing]
        changed = [{"code": c, "name": n} for c, n in codes.items() if c in existing and existing[c] != n]
        if new:
            s.execute(insert(Code), new)
        if changed:
            s.execute(update(Code), changed)
        summary = DictionarySummary(len(new), len(changed), len(codes) - len(new) - len(changed))
        audit(s, actor, "codes.import", str(path), inserted=summary.inserted, updated=summary.updated)
    return summary


def code_book(session: Session) -> CodeBook:
    labels = session.execute(select(LabelCode.code, LabelCode.role, LabelCode.name)).all()
    return CodeBook(
        principal={c: n for c, r, n in labels if r == "principal"},
        other={c: n for c, r, n in labels if r == "other"},
        dictionary=set(session.scalars(select(Code.code))),
    )


def code_names(session: Session) -> dict[str, str]:
    """code → name: the dictionary, with the label space's official names taking precedence."""
    names = dict(session.execute(select(Code.code, Code.name)).all())
    names.update(session.execute(select(LabelCode.code, LabelCode.name)).all())
    return names


@dataclass(frozen=True)
class CodeInfo:
    code: str
    name: str | None
    roles: tuple[str, ...]
    neighbours: tuple[tuple[str, str], ...]  #: codes sharing the category, shown when ``code`` is unknown


def lookup(engine: Engine, raw: str) -> CodeInfo:
    code = normalise_code(raw)
    with read_session(engine) as s:
        name = s.scalar(select(Code.name).where(Code.code == code))
        labels = s.execute(select(LabelCode.role, LabelCode.name).where(LabelCode.code == code)).all()
        if name is None and labels:
            name = labels[0][1]
        neighbours: tuple[tuple[str, str], ...] = ()
        if name is None:
            prefix = code.split(".")[0]
            neighbours = tuple(
                s.execute(
                    select(Code.code, Code.name).where(Code.code.startswith(prefix)).order_by(Code.code).limit(8)
                ).all()
            )
        return CodeInfo(code, name, tuple(r for r, _ in labels), neighbours)


def names_for(engine: Engine, codes: set[str]) -> dict[str, str]:
    """Names of just these codes (label space first, then the dictionary)."""
    codes = {c for c in codes if c}
    with read_session(engine) as s:
        names = dict(s.execute(select(Code.code, Code.name).where(Code.code.in_(codes))).all())
        names.update(s.execute(select(LabelCode.code, LabelCode.name).where(LabelCode.code.in_(codes))).all())
    return names
