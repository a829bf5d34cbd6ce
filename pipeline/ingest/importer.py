"""Importing EMRs into a dataset: all or nothing, idempotent, and a changed record is updated in place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import DBAPIError

from db.base import utcnow
from db.engine import read_session, write_session
from db.models import Dataset, Job, Record
from pipeline.audit import audit
from pipeline.errors import InputError
from pipeline.ingest.dictionary import code_book
from pipeline.ingest.readers import read_rows
from pipeline.ingest.validation import DEFAULT_MAX_RECORD_CHARS, CleanRecord, validate_records


@dataclass(frozen=True)
class ImportSummary:
    dataset: str
    inserted: int
    updated: int
    unchanged: int
    labelled: int
    unlabelled: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def line(self) -> str:
        return (
            f"{self.dataset}: {self.total} records ({self.labelled} labelled, {self.unlabelled} unlabelled) — "
            f"{self.inserted} new, {self.updated} updated, {self.unchanged} unchanged"
        )


def import_file(
    engine: Engine,
    path: Path,
    dataset: str,
    actor: str,
    max_bytes: int,
    max_record_chars: int = DEFAULT_MAX_RECORD_CHARS,
) -> ImportSummary:
    rows = read_rows(path, max_bytes)
    return import_rows(engine, rows, dataset, actor, source=str(path), max_record_chars=max_record_chars)


def import_rows(
    engine: Engine,
    rows: Sequence[Mapping[str, Any]],
    dataset: str,
    actor: str,
    source: str,
    max_record_chars: int = DEFAULT_MAX_RECORD_CHARS,
) -> ImportSummary:
    """Validate every row first; write only if all are valid, in one transaction with its audit and job rows."""
    dataset = dataset.strip()
    if not dataset:
        raise InputError("the dataset name cannot be empty")
    if not rows:
        raise InputError(f"{source}: the file holds no records")
    with read_session(engine) as s:
        book = code_book(s)
    clean, problems = validate_records(rows, book, max_record_chars)
    if problems:
        raise InputError(f"{source}: {len(problems)} problems; nothing was imported", problems)
    try:
        return _commit(engine, clean, dataset, actor, source)
    except DBAPIError as e:  # its text quotes the rows' values: patient text never goes into a message
        raise InputError(
            f"{source}: the database refused the records ({type(e.orig).__name__}); nothing was imported"
        ) from None


def _commit(engine: Engine, clean: list[CleanRecord], dataset: str, actor: str, source: str) -> ImportSummary:
    with write_session(engine) as s:
        summary = _write(s, clean, dataset)
        audit(s, actor, "records.import", dataset, source=source, inserted=summary.inserted, updated=summary.updated)
        now = utcnow()
        s.add(
            Job(
                kind="import",
                status="succeeded",
                config={"source": source, "dataset": dataset},
                progress=1.0,
                result={
                    "inserted": summary.inserted,
                    "updated": summary.updated,
                    "unchanged": summary.unchanged,
                    # the Jobs page's message column: what the import did, in words
                    "lines": [
                        f"dataset {dataset}: {summary.inserted} records added, {summary.updated} updated, "
                        f"{summary.unchanged} unchanged ({source})"
                    ],
                },
                created_by=actor,
                started_at=now,
                finished_at=now,
            )
        )
    return summary


def _write(s: Any, clean: list[CleanRecord], dataset: str) -> ImportSummary:
    ds = s.scalar(select(Dataset).where(Dataset.name == dataset))
    if ds is None:
        ds = Dataset(name=dataset)
        s.add(ds)
        s.flush()
    existing = {
        case_id: (rid, digest)
        for case_id, rid, digest in s.execute(
            select(Record.case_id, Record.id, Record.content_hash).where(
                Record.dataset_id == ds.id, Record.origin == "original"
            )
        )
    }
    new_rows, changed_rows = [], []
    now = utcnow()
    for r in clean:
        values = {
            "sections": r.sections,
            "principal_code": r.principal_code,
            "other_codes": r.other_codes,
            "content_hash": r.content_hash,
            "updated_at": now,
        }
        if r.case_id not in existing:
            new_rows.append(
                {"dataset_id": ds.id, "case_id": r.case_id, "origin": "original", "created_at": now, **values}
            )
        elif existing[r.case_id][1] != r.content_hash:
            changed_rows.append({"id": existing[r.case_id][0], **values})
    if new_rows:
        s.execute(insert(Record), new_rows)
    if changed_rows:
        s.execute(update(Record), changed_rows)
    labelled = sum(r.labelled for r in clean)
    return ImportSummary(
        dataset,
        len(new_rows),
        len(changed_rows),
        len(clean) - len(new_rows) - len(changed_rows),
        labelled,
        len(clean) - labelled,
    )
