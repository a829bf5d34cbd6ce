"""A round's life in the database: opening the next round, moving it from stage to stage with its typed result,
abandoning it, the filter-only approval of non-interactive rounds, and augmentation (a new dataset version: the
previous one's records plus the round's selected variants). The order of the stages is the driver's
(:mod:`pipeline.rounds.driver`); this module only writes what it is told."""

from __future__ import annotations

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from db.base import utcnow
from db.engine import read_session, write_session
from db.models import Badcase, Dataset, Record, Review, Round, Selection, Variant
from db.vocabulary import ROUND_MODES, ROUND_STATUSES
from pipeline.audit import audit
from pipeline.errors import InputError
from pipeline.ingest.validation import content_hash
from pipeline.ingest.versions import copy_records, current_version, newest_relabel
from pipeline.review.label_issues import held
from pipeline.rounds.config import RoundConfig
from pipeline.rounds.lookup import FINISHED, augmentations, find_round, handle, round_id
from pipeline.rounds.results import Augmented, RoundResults, StageResult


def _next_dataset(s: Session, default: str) -> str | None:
    """The dataset a new round starts on: the last finished round's augmentation (else ``default``), in its newest
    version (with the gold codes engineers corrected since); None when there is no such dataset."""
    done = s.scalars(select(Round).where(Round.status != "abandoned").order_by(Round.number.desc()))
    augmented = next((a.dataset for r in done if (a := handle(r).results.augmenting) and a.dataset), None)
    dataset = augmented or default
    if s.scalar(select(Dataset.id).where(Dataset.name == dataset)) is None:
        return None
    return current_version(s, dataset, augmentations(s)).name


def next_round_dataset(engine: Engine, default: str) -> str:
    """What the next round will start on (``default`` itself when it does not exist: starting is then refused)."""
    with read_session(engine) as s:
        return _next_dataset(s, default) or default


def create_round(s: Session, mode: str, cfg: RoundConfig, actor: str) -> int:
    """Add the next round (inside the caller's write transaction, which holds the rounds lock); its number."""
    if mode not in ROUND_MODES:
        raise InputError(f"mode {mode!r} is not one of {', '.join(ROUND_MODES)}")
    dataset = _next_dataset(s, cfg.dataset)
    if dataset is None:
        raise InputError(f"there is no dataset {cfg.dataset!r} to start a round on")
    last = s.scalar(select(func.max(Round.number))) or 0
    config = {**cfg.as_dict(), "dataset": dataset}
    number = last + 1
    s.add(Round(number=number, status="identifying", mode=mode, config=config, results={}))
    audit(s, actor, "round.start", f"round {number}", mode=mode, **{k: v for k, v in config.items() if v is not None})
    return number


def set_stage(engine: Engine, number: int, status: str, result: StageResult | None = None) -> None:
    """Move round ``number`` to ``status``, storing ``result`` under its stage."""
    if status not in ROUND_STATUSES:
        raise InputError(f"unknown round status {status!r}")
    with write_session(engine) as s:
        r = find_round(s, number, lock=True)
        r.status = status
        if result is not None:
            r.results = RoundResults.from_json(r.results).with_stage(result).to_json()
        if status == "done":
            r.finished_at = utcnow()


def abandon_round(engine: Engine, number: int, actor: str) -> None:
    """Close an unfinished round where it stands: its badcases, variants and reviews stay, nothing more runs, and
    the next `round start` opens a new round (on the dataset the abandoned one started from)."""
    with write_session(engine) as s:
        r = find_round(s, number, lock=True)
        if r.status in FINISHED:
            raise InputError(f"round {number} is {r.status} already: only an unfinished round can be abandoned")
        stage = r.status
        r.status, r.finished_at = "abandoned", utcnow()
        audit(s, actor, "round.abandon", f"round {number}", stage=stage)


def review_complete(engine: Engine, number: int) -> tuple[int, int]:
    """(badcases decided, badcases with a variant to review) of a round."""
    with read_session(engine) as s:
        rid = round_id(s, number)
        # A badcase held by a label issue waits for an engineer, not for the experts.
        reviewable = select(Badcase.id).where(
            Badcase.round_id == rid,
            select(Variant.id).where(Variant.badcase_id == Badcase.id, Variant.passed.is_(True)).exists(),
            ~held(Badcase.id),
        )
        total = s.scalar(select(func.count()).select_from(reviewable.subquery())) or 0
        decided = (
            s.scalar(select(func.count()).select_from(reviewable.where(Badcase.status == "decided").subquery())) or 0
        )
    return decided, total


def decided_text(decided: int, total: int) -> str:
    """The round's review figure, worded (and its denominator named) the same on every page and command."""
    return f"{decided} of {total} badcases with a variant to review decided"


def approve_by_filters(engine: Engine, number: int, actor: str) -> int:
    """Non-interactive rounds: each badcase's rank-1 variant is selected by the filter chain alone
    (Selection.method = "filter", never mistaken for an expert decision). Returns how many."""
    with write_session(engine) as s:
        rid = round_id(s, number)
        chosen = 0
        # Locked in id order (PostgreSQL; SQLite's BEGIN IMMEDIATE locks everything): an expert's decision on one
        # of these waits, and then sees the filter chain's selection, instead of adding a second one.
        badcases = s.scalars(
            select(Badcase).where(Badcase.round_id == rid, ~held(Badcase.id)).order_by(Badcase.id).with_for_update()
        )
        for badcase in badcases:
            if s.get(Selection, badcase.id) is not None:
                continue
            top = s.scalar(select(Variant.id).where(Variant.badcase_id == badcase.id, Variant.rank == 1))
            if top is None:
                continue
            s.add(Selection(badcase_id=badcase.id, variant_id=top, method="filter", decided_by="filter chain"))
            badcase.status = "decided"
            chosen += 1
        audit(s, actor, "round.approve_by_filters", f"round {number}", selected=chosen)
    return chosen


def augment(engine: Engine, number: int, actor: str) -> Augmented:
    """Write the next dataset version: every record of the round's dataset (kept as it was; its newest relabelled
    version when engineers corrected gold codes meanwhile) plus the round's selected variants, each a record of
    origin "variant" pointing at its parent and carrying its parent's codes. Badcases held by a label issue add
    no variant. Idempotent."""
    with write_session(engine) as s:
        rnd = find_round(s, number)
        source = s.scalar(select(Dataset).where(Dataset.name == rnd.config.get("dataset", "train")))
        if source is None:
            raise InputError(f"round {number}'s dataset {rnd.config.get('dataset')!r} is gone")
        source = newest_relabel(s, source)
        name = f"{source.name.split('@')[0]}@r{number}"
        existing = s.scalar(select(Dataset).where(Dataset.name == name))
        if existing is not None:
            n = s.scalar(select(func.count()).where(Record.dataset_id == existing.id)) or 0
            added = (
                s.scalar(select(func.count()).where(Record.dataset_id == existing.id, Record.round_no == number)) or 0
            )
            return Augmented(name, n, added)
        target = Dataset(name=name)
        s.add(target)
        s.flush()
        now = utcnow()
        new_ids = copy_records(s, source, target)
        n_old = len(new_ids)
        by_case = {
            rec.case_id: (new_ids[rec.id], rec.principal_code, rec.other_codes)
            for rec in s.scalars(select(Record).where(Record.dataset_id == source.id, Record.origin == "original"))
        }
        selected = s.execute(
            select(Variant, Record)
            .join(Selection, Selection.variant_id == Variant.id)
            .join(Badcase, Badcase.id == Selection.badcase_id)
            .join(Record, Record.id == Badcase.record_id)
            .where(Badcase.round_id == rnd.id, ~held(Badcase.id))
            .order_by(Record.case_id, Variant.seq)
        ).all()
        rows = []
        for v, parent in selected:
            if parent.case_id not in by_case:
                continue
            parent_id, principal, others = by_case[parent.case_id]
            sections = dict(v.sections or {})
            rows.append(
                {
                    "dataset_id": target.id,
                    "case_id": f"{parent.case_id}#r{number}v{v.seq}",
                    "sections": sections,
                    "principal_code": principal,
                    "other_codes": others,
                    "content_hash": content_hash(sections, principal, others),
                    "origin": "variant",
                    "parent_id": parent_id,
                    "round_no": number,
                    "fold": parent.fold,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        if rows:
            s.execute(insert(Record), rows)
        audit(
            s,
            actor,
            "round.augment",
            name,
            round=number,
            source=source.name,
            added=len(rows),
            approved_by="filter chain" if rnd.mode == "non-interactive" else "experts",
        )
        return Augmented(name, n_old + len(rows), len(rows))


def expert_minutes_per_approved(engine: Engine, number: int) -> float | None:
    """Expert minutes per selected variant: every decision's active time (its raw time where none was measured),
    undone and replaced decisions included, since the time was spent."""
    with read_session(engine) as s:
        rid = round_id(s, number)
        seconds = s.scalar(
            select(func.sum(func.coalesce(Review.active_seconds, Review.seconds)))
            .join(Badcase, Badcase.id == Review.badcase_id)
            .where(Badcase.round_id == rid)
        )
        approved = (
            s.scalar(
                select(func.count())
                .select_from(Selection)
                .join(Badcase, Badcase.id == Selection.badcase_id)
                .where(Badcase.round_id == rid, Selection.method != "filter")
            )
            or 0
        )
    return (seconds or 0) / 60 / approved if approved else None
