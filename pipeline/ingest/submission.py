"""Competition files for scoring: gold labels, and predictions in the submission format."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.domain.codes import normalise_code, split_code_list
from pipeline.domain.metric import Labels
from pipeline.domain.parsers import parse_submission, submitted_labels
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY
from pipeline.errors import InputError
from pipeline.ingest.readers import read_rows
from pipeline.protocols import CodePrediction, Progress
from pipeline.settings import Settings

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


def read_predictions(path: Path, max_bytes: int, as_submitted: bool = False) -> Predictions:
    """Predictions by record id. ``as_submitted`` (scoring) reads each 预测结果 without cleaning anything
    (:func:`pipeline.domain.parsers.submitted_labels`); otherwise as a model's output is read
    (codes normalised, the principal dropped from the other codes)."""
    parse = submitted_labels if as_submitted else parse_submission
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
        parsed = parse(str(row.get(PRED_KEY) or ""))
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


class PredictionsFile:
    """A :class:`pipeline.protocols.Predictor` over predictions made elsewhere, in the submission format.

    Each record is looked up by its 病案标识 (a variant by ``<病案标识>#v<seq>``, the id of the prompts
    export). The file is read and checked when this is made; a record it does not predict is refused, naming
    the ids and the file. A 预测结果 that cannot be read is a prediction of nothing (it fails every check, as
    it scores 0).
    """

    def __init__(self, path: Path | str, max_bytes: int | None = None) -> None:
        self.path = Path(path)
        read = read_predictions(self.path, Settings.max_import_bytes if max_bytes is None else max_bytes)
        self.labels = read.labels
        self.unparseable = set(read.unparseable)

    @property
    def name(self) -> str:
        """How verdicts and runs name this "model": the file's name."""
        return self.path.name

    def __len__(self) -> int:
        return len(self.labels) + len(self.unparseable)

    def __contains__(self, rid: object) -> bool:
        return rid in self.labels or rid in self.unparseable

    def require(self, ids: Sequence[str], what: str = "records") -> None:
        """Refuse (InputError) unless the file predicts every id."""
        missing = list(dict.fromkeys(i for i in ids if i not in self))
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise InputError(f"{self.path}: no prediction for {len(missing)} of the {len(set(ids))} {what}: {shown}")

    def predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> list[CodePrediction]:
        ids = [str(r.get(ID_KEY, "")).strip() for r in records]
        self.require(ids)
        out = []
        for rid in ids:
            found = self.labels.get(rid)
            if found is None:
                out.append(CodePrediction(None, (), parsed=False))
            else:
                out.append(CodePrediction(found[0], tuple(found[1])))
        if progress:
            progress(len(ids), len(ids))
        return out
