"""Rounds as first-class objects: their stages, the filter-only approval of non-interactive rounds, and
augmentation (a new dataset version: the previous one's records plus the round's selected variants)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class RoundView:
    number: int
    status: str
    mode: str
    config: dict[str, Any]
    results: dict[str, Any]
    created_at: str
    finished_at: str | None

    def models(self) -> dict[str, list[str]]:
        """The registered names (both models of a pair) this round mined, filtered and trained with so far."""
        res = self.results
        filtering = res.get("filtering", {})
        return {
            "mined": list(res.get("identifying", {}).get("models") or []),
            "filtered": list(filtering.get("label_models") or []) + list(filtering.get("policy_models") or []),
            "trained": list(res.get("training", {}).get("models") or []),
        }

    def models_line(self) -> str:
        """``mined A,B  filtered C  trained D,E`` (stages not reached yet are left out)."""
        return "  ".join(f"{stage} {','.join(names)}" for stage, names in self.models().items() if names)


def _view(r: Round) -> RoundView:
    return RoundView(
        r.number,
        r.status,
        r.mode,
        dict(r.config),
        dict(r.results),
        r.created_at.strftime("%Y-%m-%d %H:%M"),
        r.finished_at.strftime("%Y-%m-%d %H:%M") if r.finished_at else None,
    )


def rounds(engine: Engine) -> list[RoundView]:
    with read_session(engine) as s:
        return [_view(r) for r in s.scalars(select(Round).order_by(Round.number))]


def get_round(engine: Engine, number: int) -> RoundView:
    with read_session(engine) as s:
        r = s.scalar(select(Round).where(Round.number == number))
        if r is None:
            raise InputError(f"there is no round {number}")
        return _view(r)


def _next_dataset(s: Session, default: str) -> str | None:
    """The dataset a new round starts on: the last round's augmentation (else ``default``), in its newest version
    (with the gold codes engineers corrected since); None when there is no such dataset."""
    last = s.scalar(select(Round).order_by(Round.number.desc()).limit(1))
    dataset = (last.results.get("augmenting", {}).get("dataset") if last else None) or default
    if s.scalar(select(Dataset.id).where(Dataset.name == dataset)) is None:
        return None
    return current_version(s, dataset).name


def next_round_dataset(engine: Engine, default: str) -> str:
    """What the next round will start on (``default`` itself when it does not exist: starting is then refused)."""
    with read_session(engine) as s:
        return _next_dataset(s, default) or default


def open_round(engine: Engine, mode: str, cfg: RoundConfig, actor: str) -> tuple[int, bool]:
    """The unfinished round to continue, or a new one; returns (number, created). Continuing a round in
    non-interactive mode switches it: the filter chain approves what the experts have not decided."""
    if mode not in ROUND_MODES:
        raise InputError(f"mode {mode!r} is not one of {', '.join(ROUND_MODES)}")
    with write_session(engine) as s:
        current = s.scalar(select(Round).where(Round.status != "done").order_by(Round.number.desc()).limit(1))
        if current is not None:
            if mode == "non-interactive" and current.mode != mode:
                # The rest of this round is approved by the filter chain; expert decisions made so far stand.
                current.mode = mode
                audit(s, actor, "round.mode", f"round {current.number}", mode=mode)
            return current.number, False
        last = s.scalar(select(Round).order_by(Round.number.desc()).limit(1))
        dataset = _next_dataset(s, cfg.dataset)
        if dataset is None:
            missing = (last.results.get("augmenting", {}).get("dataset") if last else None) or cfg.dataset
            raise InputError(f"there is no dataset {missing!r} to start a round on")
        config = {**cfg.as_dict(), "dataset": dataset}
        number = (last.number if last else 0) + 1
        s.add(Round(number=number, status="identifying", mode=mode, config=config, results={}))
        audit(
            s, actor, "round.start", f"round {number}", mode=mode, **{k: v for k, v in config.items() if v is not None}
        )
        return number, True


def set_stage(
    engine: Engine, number: int, status: str, stage: str | None = None, result: dict[str, Any] | None = None
) -> None:
    if status not in ROUND_STATUSES:
        raise InputError(f"unknown round status {status!r}")
    with write_session(engine) as s:
        r = s.scalar(select(Round).where(Round.number == number))
        if r is None:
            raise InputError(f"there is no round {number}")
        r.status = status
        if stage is not None:
            r.results = {**r.results, stage: result or {}}
        if status == "done":
            r.finished_at = utcnow()


def review_complete(engine: Engine, number: int) -> tuple[int, int]:
    """(badcases decided, badcases with a variant to review) of a round."""
    with read_session(engine) as s:
        rid = s.scalar(select(Round.id).where(Round.number == number))
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


def approve_by_filters(engine: Engine, number: int, actor: str) -> int:
    """Non-interactive rounds: each badcase's rank-1 variant is selected by the filter chain alone
    (Selection.method = "filter", never mistaken for an expert decision). Returns how many."""
    with write_session(engine) as s:
        rid = s.scalar(select(Round.id).where(Round.number == number))
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


@dataclass(frozen=True)
class Augmented:
    dataset: str
    records: int
    added_variants: int


def augment(engine: Engine, number: int, actor: str) -> Augmented:
    """Write the next dataset version: every record of the round's dataset (kept as it was; its newest relabelled
    version when engineers corrected gold codes meanwhile) plus the round's selected variants, each a record of
    origin "variant" pointing at its parent and carrying its parent's codes. Badcases held by a label issue add
    no variant. Idempotent."""
    with write_session(engine) as s:
        rnd = s.scalar(select(Round).where(Round.number == number))
        if rnd is None:
            raise InputError(f"there is no round {number}")
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
    with read_session(engine) as s:
        rid = s.scalar(select(Round.id).where(Round.number == number))
        seconds = s.scalar(
            select(func.sum(Review.seconds))
            .join(Badcase, Badcase.id == Review.badcase_id)
            .where(Badcase.round_id == rid, Review.undone_at.is_(None))
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
