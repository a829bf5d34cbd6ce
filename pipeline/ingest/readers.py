"""Reading tabular input files (JSON, JSONL, CSV/TSV, xlsx) into rows of strings, with clear errors.

Every error names the file and where in it the problem is (line and column, or 1-based row).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import InputError

RECORD_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".xlsx")

# Real records run to several hundred kilobytes; the csv module's default cap is 128 KiB a field.
csv.field_size_limit(sys.maxsize)


def check_readable(path: Path, max_bytes: int, suffixes: tuple[str, ...] = RECORD_SUFFIXES) -> str:
    """The file's suffix, after checking it exists, is of a known type and is not too large."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise InputError(f"{path}: unknown file type {suffix or '(none)'!r}; expected one of {', '.join(suffixes)}")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"{path}: {size / 2**20:.0f} MiB is larger than the import limit of {max_bytes / 2**20:.0f} MiB "
            "(SRADIT_MAX_IMPORT_BYTES); split the file or raise the limit"
        )
    return suffix


def read_text(path: Path) -> str:
    """The file decoded as UTF-8 (a byte-order mark is dropped); a non-UTF-8 file names the bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(
            f"{path}: not UTF-8: byte 0x{data[e.start]:02x} at line {line} (offset {e.start}) "
            "cannot be decoded; save the file as UTF-8"
        ) from None


def read_rows(path: Path, max_bytes: int) -> list[dict[str, Any]]:
    """Rows of a record file as dicts, in file order (row numbers in messages are 1-based)."""
    suffix = check_readable(path, max_bytes)
    if suffix == ".xlsx":
        return list(_xlsx_rows(path))
    text = read_text(path)
    if suffix == ".json":
        return _json_rows(path, text)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_rows(path, text)
    return _csv_rows(path, text, delimiter="\t" if suffix == ".tsv" else ",")


def _json_rows(path: Path, text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of records, found {type(data).__name__}")
    bad = [
        f"row {i}: expected an object, found {type(r).__name__}"
        for i, r in enumerate(data, 1)
        if not isinstance(r, dict)
    ]
    if bad:
        raise InputError(f"{path}: {len(bad)} rows are not JSON objects", bad)
    return data


def _jsonl_rows(path: Path, text: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"line {lineno}, column {e.colno}: invalid JSON: {e.msg}")
            continue
        if not isinstance(row, dict):
            problems.append(f"line {lineno}: expected an object, found {type(row).__name__}")
            continue
        rows.append(row)
    if problems:
        raise InputError(f"{path}: {len(problems)} lines are not valid JSON objects", problems)
    return rows


def _csv_rows(path: Path, text: str, delimiter: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if not reader.fieldnames:
        raise InputError(f"{path}: the file is empty (no header row)")
    rows = []
    for row in reader:
        if None in row:  # more cells than header columns
            raise InputError(f"{path}: row {reader.line_num - 1} has more cells than the header")
        rows.append({k.strip(): ("" if v is None else v) for k, v in row.items()})
    return rows


def xlsx_table(path: Path) -> Iterator[tuple[Any, ...]]:
    """The first sheet's rows as tuples of cell values, streamed (read-only mode)."""
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError) as e:
        raise InputError(f"{path}: not a readable xlsx workbook ({e})") from None
    try:
        yield from wb.worksheets[0].iter_rows(values_only=True)
    finally:
        wb.close()


def _xlsx_rows(path: Path) -> Iterator[dict[str, Any]]:
    rows = xlsx_table(path)
    header = next(rows, None)
    if not header:
        raise InputError(f"{path}: the first sheet is empty (no header row)")
    names = ["" if h is None else str(h).strip() for h in header]
    for values in rows:
        if all(v is None for v in values):
            continue
        yield {n: ("" if v is None else v) for n, v in zip(names, values, strict=False) if n}
