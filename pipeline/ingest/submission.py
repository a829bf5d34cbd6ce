"""Competition files for scoring: gold labels, and predictions in the submission format."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.domain.codes import normalise_code, split_code_list
from pipeline.domain.metric import Labels
from pipeline.domain.parsers import parse_submission
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY
from pipeline.errors import InputError
from pipeline.ingest.readers import read_rows

PRED_KEY = "预测结果"


@dataclass(frozen=True)
class Predictions:
    labels: dict[str, Labels]
    unparseable: list[str]  #: ids whose 预测结果 could not be read (they score 0)


def read_gold(path: Path, max_bytes: int) -> dict[str, Labels]:
    gold: dict[str, Labels] = {}
    problems: list[str] = []
    for row_no, row in enumerate(read_rows(path, max_bytes), 1):
        rid = str(row.get(ID_KEY, "")).strip()
        where = f"record {rid} (row {row_no})" if rid else f"row {row_no}"
        main = normalise_code(str(row.get(MAIN_KEY) or ""))
        others, bad = split_code_list(str(row.get(OTHER_KEY) or ""))
        if not rid:
            problems.append(f"{where}: field {ID_KEY} is missing")
        elif rid in gold:
            problems.append(f"{where}: {ID_KEY} {rid!r} appears twice")
        elif not main:
            problems.append(f"{where}: field {MAIN_KEY} is missing: a gold file needs labels")
        elif bad:
            problems.append(f"{where}: field {OTHER_KEY}: malformed code list {bad!r}")
        else:
            gold[rid] = (main, others)
    if problems:
        raise InputError(f"{path}: {len(problems)} problems in the gold file", problems)
    return gold


def read_predictions(path: Path, max_bytes: int) -> Predictions:
    labels: dict[str, Labels] = {}
    unparseable: list[str] = []
    problems: list[str] = []
    for row_no, row in enumerate(read_rows(path, max_bytes), 1):
        rid = str(row.get(ID_KEY, "")).strip()
        if not rid:
            problems.append(f"row {row_no}: field {ID_KEY} is missing")
            continue
        if rid in labels or rid in unparseable:
            problems.append(f"record {rid} (row {row_no}): predicted twice")
            continue
        parsed = parse_submission(str(row.get(PRED_KEY) or ""))
        if parsed is None:
            unparseable.append(rid)
        else:
            labels[rid] = (parsed.main, list(parsed.others))
    if problems:
        raise InputError(f"{path}: {len(problems)} problems in the prediction file", problems)
    return Predictions(labels, unparseable)


def format_prediction(main: str | None, others: list[str] | tuple[str, ...]) -> str:
    return f"[{main or ''}|{';'.join(others)}]"


def write_submission(path: Path, predictions: Mapping[str, tuple[str | None, list[str]]]) -> None:
    """Write a submission file atomically (temporary file, then rename)."""
    rows = [{ID_KEY: rid, PRED_KEY: format_prediction(m, o)} for rid, (m, o) in predictions.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
