"""Exporting the augmented training set: originals + expert-approved variants, in the formats trainers read.

An export is reproducible (the same database state writes the same bytes: sorted rows, no timestamps in
the files), atomic (written in a temporary folder, then renamed as its row is committed: folders.py), versioned
per round and format, and recorded with its row counts and a checksum: the sha256 of its ``SHA256SUMS`` file,
which lists the sha256 of every file (`sha256sum -c SHA256SUMS` verifies a copy). With ``fold`` set it writes
a K-fold split: the records of that fold are the evaluation set, and no variant of an evaluation record lands
in the training set.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from db.engine import read_session, write_session
from db.models import Badcase, DatasetExport, Record, Review, Round, Selection, Variant
from pipeline.audit import audit
from pipeline.domain.prompts import target_completion, task_messages
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS
from pipeline.domain.vocabulary import EXPORT_FORMATS, EXPORT_SELECTIONS, EXPORT_TASKS
from pipeline.errors import InputError
from pipeline.export import folders, prompts, trainer_configs
from pipeline.mining.kfold import round_dataset
from pipeline.review.label_issues import held
from pipeline.review.queue import approved_variant_ids


@dataclass(frozen=True)
class ExportConfig:
    round_no: int = field(metadata={"help": "Variants approved in this round and every earlier one are included."})
    format: str = field(
        metadata={"help": "trl-sft | trl-grpo | llamafactory | verl | competition | prompts (what to predict)"}
    )
    out_dir: Path = field(metadata={"help": "Folder under which the versioned dataset folder is written."})
    selection: str = field(default="best", metadata={"help": "best: each badcase's selected variant; approved: all."})
    min_score: int | None = field(default=None, metadata={"help": "Only variants whose mean expert score ≥ this."})
    task: str = field(default="both", metadata={"help": "both (one row per sub-task) | principal | other | multi"})
    fold: int | None = field(default=None, metadata={"help": "K-fold split: this fold is the evaluation set."})
    confined_to: Path | None = field(
        default=None,
        metadata={
            "help": "The folder the export must stay inside, checked again as it is written (a page's typed folder); "
            "None: anywhere (the command line's --out)."
        },
    )


@dataclass(frozen=True)
class Sample:
    """One training record with its provenance (an original, or an approved variant of one)."""

    key: str  #: stable sort key and id in the files
    sections: dict[str, str]
    principal: str
    others: list[str]
    origin: str
    case_id: str
    fold: int | None
    badcase_id: int | None = None
    round_no: int | None = None
    generator: str | None = None
    variant_seq: int | None = None
    expert_score: float | None = None

    def provenance(self) -> dict[str, Any]:
        return {
            "id": self.key,
            "origin": self.origin,
            "case_id": self.case_id,
            "source_badcase": self.badcase_id,
            "round": self.round_no,
            "generator": self.generator,
            "variant_seq": self.variant_seq,
            "expert_score": self.expert_score,
        }


@dataclass(frozen=True)
class ExportResult:
    export_id: int
    version: int
    path: Path
    row_counts: dict[str, int]
    checksum: str


def collect(engine: Engine, cfg: ExportConfig) -> list[Sample]:
    """Originals of the round's training set + the chosen variants of rounds 1..R, sorted."""
    with read_session(engine) as s:
        ds = round_dataset(s, cfg.round_no)
        originals = s.scalars(
            select(Record).where(
                Record.dataset_id == ds.id, Record.origin == "original", Record.principal_code.is_not(None)
            )
        ).all()
        samples = [
            Sample(
                r.case_id,
                dict(r.sections),
                r.principal_code or "",
                list(r.other_codes or []),
                "original",
                r.case_id,
                r.fold,
            )
            for r in originals
        ]
        rounds = s.execute(select(Round.id, Round.number).where(Round.number <= cfg.round_no)).all()
        for rid, number in rounds:
            chosen = _chosen_variants(s, rid, cfg)
            if not chosen:
                continue
            scores = dict(
                s.execute(
                    select(Review.variant_id, func.avg(Review.score))
                    .where(Review.variant_id.in_(chosen), Review.undone_at.is_(None), Review.score.is_not(None))
                    .group_by(Review.variant_id)
                ).all()
            )
            rows = s.execute(
                select(Variant, Badcase, Record)
                .join(Badcase, Badcase.id == Variant.badcase_id)
                .join(Record, Record.id == Badcase.record_id)
                .where(Variant.id.in_(chosen))
            ).all()
            for v, b, rec in rows:
                score = scores.get(v.id)
                if cfg.min_score is not None and (score is None or score < cfg.min_score):
                    continue
                samples.append(
                    Sample(
                        f"{rec.case_id}#r{number}v{v.seq}",
                        dict(v.sections or {}),
                        rec.principal_code or "",
                        list(rec.other_codes or []),
                        "variant",
                        rec.case_id,
                        rec.fold,
                        b.id,
                        number,
                        v.generator,
                        v.seq,
                        round(float(score), 3) if score is not None else None,
                    )
                )
    return sorted(samples, key=lambda x: x.key)


def _chosen_variants(s: Any, round_id: int, cfg: ExportConfig) -> set[int]:
    if cfg.selection == "best":
        chosen = set(
            s.scalars(
                select(Selection.variant_id)
                .join(Badcase, Badcase.id == Selection.badcase_id)
                .where(Badcase.round_id == round_id)
            )
        )
    else:
        chosen = approved_variant_ids(s, round_id)
    # Variants of a badcase whose gold codes are flagged as wrong carry those codes: not exported.
    flagged = set(
        s.scalars(
            select(Variant.id)
            .join(Badcase, Badcase.id == Variant.badcase_id)
            .where(Badcase.round_id == round_id, held(Badcase.id))
        )
    )
    return chosen - flagged


def split(samples: list[Sample], fold: int | None) -> dict[str, list[Sample]]:
    """train (and eval for a fold). A variant follows its parent record's fold: never trained on when the
    parent is in the evaluation fold; evaluation uses originals only."""
    if fold is None:
        return {"train": samples}
    return {
        "train": [x for x in samples if x.fold != fold],
        "eval": [x for x in samples if x.fold == fold and x.origin == "original"],
    }


def _record(x: Sample) -> dict[str, str]:
    return {ID_KEY: x.key, **x.sections}


def _rows(fmt: str, cfg: ExportConfig, samples: list[Sample]) -> Iterator[dict[str, Any]]:
    for x in samples:
        if fmt == "competition":
            yield {
                ID_KEY: x.key,
                **{k: x.sections.get(k, "") for k in TEXT_SECTIONS},
                MAIN_KEY: x.principal,
                OTHER_KEY: ";".join(x.others),
                "provenance": x.provenance(),
            }
            continue
        for task in prompts.tasks_of(cfg.task):
            prompt = task_messages(task, _record(x))
            if fmt in ("trl-sft", "llamafactory"):
                answer = target_completion(task, x.principal, x.others)
                if fmt == "trl-sft":
                    yield {
                        "messages": [*prompt, {"role": "assistant", "content": answer}],
                        "task": task,
                        "case_id": x.key,
                        **x.provenance(),
                    }
                else:
                    yield {
                        "system": prompt[0]["content"],
                        "conversations": [
                            {"from": "human", "value": prompt[1]["content"]},
                            {"from": "gpt", "value": answer},
                        ],
                        "task": task,
                        "provenance": x.provenance(),
                    }
            elif fmt == "trl-grpo":
                yield {
                    "prompt": prompt,
                    "task": task,
                    "principal": x.principal,
                    "others": list(x.others),
                    "case_id": x.key,
                    **x.provenance(),
                }
            elif fmt == "verl":
                yield {
                    "data_source": f"sradit/{task}",
                    "prompt": prompt,
                    "ability": "icd_coding",
                    "reward_model": {"style": "rule", "ground_truth": f"[{x.principal}|{';'.join(x.others)}]"},
                    "extra_info": {
                        "task": task,
                        **{k: ("" if v is None else str(v)) for k, v in x.provenance().items()},
                    },
                }


def _write_split(fmt: str, cfg: ExportConfig, name: str, samples: list[Sample], folder: Path) -> tuple[str, int]:
    rows = list(_rows(fmt, cfg, samples))
    if fmt in ("trl-sft", "trl-grpo"):
        path = folder / f"{name}.jsonl"
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows), encoding="utf-8"
        )
    elif fmt in ("llamafactory", "competition"):
        path = folder / f"{name}.json"
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / f"{name}.parquet"
        table = pa.Table.from_pylist(rows) if rows else pa.table({})
        # No creation metadata in the file, so that the same rows write the same bytes.
        pq.write_table(table, path, compression="zstd")
    return path.name, len(rows)


SUMS = "SHA256SUMS"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda f=f: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in (folders.WRITING, SUMS))


def _stays_inside(cfg: ExportConfig, path: Path) -> None:
    """Confinement checked where the export writes, as it writes (resolved now, not when the folder was typed)."""
    if cfg.confined_to is not None and not path.resolve().is_relative_to(cfg.confined_to.resolve()):
        raise InputError(
            f"{cfg.out_dir} now leads to {path.resolve()}, outside {cfg.confined_to} (a symbolic link replaced a "
            "folder after it was checked): nothing was exported"
        )


def _write_sha256sums(folder: Path) -> str:
    """``SHA256SUMS`` in the folder, in ``sha256sum``'s format, so `sha256sum -c SHA256SUMS` verifies a copy.
    Returns the export's checksum: the sha256 of ``SHA256SUMS`` itself, which covers every file's name and
    content without reading the files a second time."""
    lines = [f"{_file_sha256(path)}  {path.relative_to(folder)}" for path in _files(folder)]
    sums = ("\n".join(lines) + "\n").encode("utf-8")
    (folder / SUMS).write_bytes(sums)
    return hashlib.sha256(sums).hexdigest()


def verify(folder: Path, checksum: str) -> None:
    """Refuse an export folder whose files are not those it was written with, naming the first that differs: its
    ``SHA256SUMS`` must be the one recorded (``checksum``) and list exactly its files, each with its sha256. Run
    before a download is served and before a training reads the export."""
    again = "it changed after the export was written; export again (`sradit export`)"
    try:
        sums = (folder / SUMS).read_bytes()
    except OSError:
        raise InputError(f"{folder / SUMS} is missing: {again}") from None
    if hashlib.sha256(sums).hexdigest() != checksum:
        raise InputError(f"{folder / SUMS} is not the one recorded for this export: {again}")
    listed = dict(reversed(line.split("  ", 1)) for line in sums.decode("utf-8").splitlines() if line)
    present = {str(p.relative_to(folder)): p for p in _files(folder)}
    for name in sorted(set(listed) | set(present)):
        if name not in listed:
            raise InputError(f"{folder / name} is not in {SUMS}: {again}")
        if name not in present:
            raise InputError(f"{folder / name} is missing: {again}")
        if _file_sha256(present[name]) != listed[name]:
            raise InputError(f"{folder / name} does not match {SUMS}: {again}")


def export(engine: Engine, cfg: ExportConfig, actor: str) -> ExportResult:
    """Write the export and register it; killed at any point, it leaves either a complete, registered export
    or nothing that the next export into the same folder does not clean up (pipeline/export/folders.py)."""
    if cfg.format not in EXPORT_FORMATS:
        raise InputError(f"format {cfg.format!r} is not one of {', '.join(EXPORT_FORMATS)}")
    if cfg.task not in EXPORT_TASKS:
        raise InputError(f"task {cfg.task!r} is not one of {', '.join(EXPORT_TASKS)}")
    if cfg.selection not in EXPORT_SELECTIONS:
        raise InputError(f"selection {cfg.selection!r} is not one of {', '.join(EXPORT_SELECTIONS)}")
    sources: dict[str, list[prompts.PromptSource]] = {}
    splits: dict[str, list[Sample]] = {}
    if cfg.format == "prompts":  # what models trained elsewhere predict: every record and variant, no labels
        if cfg.fold is not None or cfg.min_score is not None:
            raise InputError("--fold and --min-score do not apply to --format prompts (it writes every prompt)")
        sources = prompts.collect_prompts(engine, cfg.round_no)
    else:
        splits = split(collect(engine, cfg), cfg.fold)
    _stays_inside(cfg, cfg.out_dir)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    folders.recover(engine, cfg.out_dir)
    with read_session(engine) as s:
        version = (
            s.scalar(
                select(func.max(DatasetExport.version)).where(
                    DatasetExport.round_no == cfg.round_no, DatasetExport.format == cfg.format
                )
            )
            or 0
        )
    # A folder left by an earlier database (a rebuilt demo, say) is never overwritten: take the next version.
    prefix = f"round{cfg.round_no}-{cfg.format}-v"
    for existing in cfg.out_dir.glob(f"{prefix}*"):
        digits = existing.name[len(prefix) :].split("-")[0]
        version = max(version, int(digits)) if digits.isdigit() else version
    version += 1
    name = f"{prefix}{version}" + (f"-fold{cfg.fold}" if cfg.fold is not None else "")
    final = cfg.out_dir / name
    tmp, marker = folders.start(cfg.out_dir, name)
    renamed = False
    try:
        _stays_inside(cfg, tmp)
        counts = _write_files(cfg, sources, splits, tmp, final)
        checksum = _write_sha256sums(tmp)
        folders.pause_point("written")
        options = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
        # Row and folder appear together: the rename is the transaction's last step before its commit.
        with write_session(engine) as s:
            folders.lock_round(s, cfg.round_no)
            if final.exists():  # a simultaneous export committed this version while this one was writing
                raise _taken(cfg, version, final)
            row = DatasetExport(
                round_no=cfg.round_no,
                format=cfg.format,
                version=version,
                path=str(final),
                options=options,
                row_counts=counts,
                checksum=checksum,
                created_by=actor,
            )
            s.add(row)
            s.flush()
            audit(s, actor, "export", str(final), format=cfg.format, rows=counts, checksum=checksum)
            export_id = row.id
            _stays_inside(cfg, final.parent)
            _rename(tmp, final, cfg, version)
            renamed = True
            folders.pause_point("renamed")
    except BaseException:
        # Renamed, then the commit failed: no folder without its row.
        shutil.rmtree(final if renamed else tmp, ignore_errors=True)
        marker.close()
        raise
    folders.pause_point("committed")
    folders.finish(final, marker)
    return ExportResult(export_id, version, final, counts, checksum)


def _write_files(
    cfg: ExportConfig,
    sources: dict[str, list[prompts.PromptSource]],
    splits: dict[str, list[Sample]],
    tmp: Path,
    final: Path,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    files = {}
    if cfg.format == "prompts":
        counts = prompts.write_prompts(sources, cfg.round_no, cfg.task, tmp)
    for split_name, rows in splits.items():
        file_name, n = _write_split(cfg.format, cfg, split_name, rows, tmp)
        counts[split_name] = n
        files[split_name] = file_name
        origin = Counter(x.origin for x in rows)
        counts[f"{split_name}_original_records"] = origin["original"]
        counts[f"{split_name}_variant_records"] = origin["variant"]
    if cfg.format == "llamafactory":
        info = {
            f"sradit_r{cfg.round_no}_{k}": {
                "file_name": v,
                "formatting": "sharegpt",
                "columns": {"messages": "conversations", "system": "system"},
            }
            for k, v in files.items()
        }
        (tmp / "dataset_info.json").write_text(
            json.dumps(info, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        trainer_configs.write_llamafactory(tmp, final.resolve(), cfg.task, cfg.round_no)
    if cfg.format == "verl":
        trainer_configs.write_verl(tmp, final.resolve(), files)
    return counts


def _taken(cfg: ExportConfig, version: int, final: Path) -> InputError:
    return InputError(
        f"another export of round {cfg.round_no} as {cfg.format} took version {version} at the same "
        f"time ({final}); run this one again and it takes the next version"
    )


def _rename(tmp: Path, final: Path, cfg: ExportConfig, version: int) -> None:
    try:
        tmp.rename(final)
    except OSError:
        if final.exists():
            raise _taken(cfg, version, final) from None
        raise


def list_exports(engine: Engine) -> list[DatasetExport]:
    with read_session(engine) as s:
        return list(s.scalars(select(DatasetExport).order_by(DatasetExport.id.desc())))


def zip_folder(folder: Path, checksum: str) -> bytes:
    """An export folder as a zip archive (for a browser download), its files under the folder's name; verified
    against its checksum first (:func:`verify`)."""
    import io
    import zipfile

    verify(folder, checksum)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != folders.WRITING):
            zf.write(path, Path(folder.name) / path.relative_to(folder))
    return buffer.getvalue()
