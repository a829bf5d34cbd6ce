"""Generating a round's variants: N per badcase, resumable (one commit per badcase, never duplicated)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlalchemy import Engine, func, insert, select

from db.engine import read_session, write_session
from db.models import Badcase, Record, Variant
from pipeline.audit import audit
from pipeline.domain.records import ID_KEY
from pipeline.errors import InputError, SraditError
from pipeline.parallel import imap
from pipeline.privacy.gate import records_in_flight
from pipeline.protocols import Progress
from pipeline.review.label_issues import held
from pipeline.rounds.lookup import round_id


@dataclass(frozen=True)
class GeneratedVariant:
    sections: dict[str, str] | None  #: None when generation failed
    edits: tuple[str, ...]
    error: str | None
    attempts: int
    seed: int | None
    temperature: float | None
    facts: str | None = None  #: the digest of its facts when the generator read them (domain.facts.facts_digest)


class VariantSource(Protocol):
    generator_name: str
    prompt_version: str | None
    model: str | None

    def variants(self, sections: Mapping[str, str], start: int, n: int, seed: int) -> list[GeneratedVariant]: ...


@dataclass(frozen=True)
class VariantRequest:
    """Variants ``start`` … ``start + n - 1`` of one record."""

    sections: Mapping[str, str]
    start: int
    n: int
    seed: int


@runtime_checkable
class BatchVariantSource(VariantSource, Protocol):
    """A source that is faster given many records at once (it may use several processes). It yields each
    request's variants in order, as soon as they are made, so that each can be stored before the next."""

    def variants_many(self, requests: Sequence[VariantRequest]) -> Iterable[list[GeneratedVariant]]: ...


@runtime_checkable
class ScreenedSource(VariantSource, Protocol):
    """A source whose model may refuse a record (the patient-data gate of an external model): asked about every
    request before the first is generated, so that a refusal stores nothing."""

    def screen(self, requests: Sequence[VariantRequest]) -> None: ...


@dataclass(frozen=True)
class RewriteConfig:
    round_no: int = field(metadata={"help": "Round whose badcases are rewritten."})
    n: int = field(default=20, metadata={"help": "Variants per badcase (the paper used 20, then 30)."})
    generator: str = field(default="rules", metadata={"help": "rules | llm"})
    model: str | None = field(default=None, metadata={"help": "LLM model name (models file) for --generator llm."})
    temperature: float = field(default=0.9, metadata={"help": "Sampling temperature of the LLM generator."})
    seed: int = field(default=0, metadata={"help": "Seed; variant k of a badcase always uses the same one."})


@dataclass
class RewriteReport:
    round_no: int
    badcases: int = 0
    generated: int = 0
    failed: int = 0
    skipped: int = 0  #: badcases that already had N variants
    held: int = 0  #: badcases held out by a label issue (their gold codes may be wrong)
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"round {self.round_no}: {self.badcases} badcases, {self.generated} variants generated, "
            f"{self.failed} failed, {self.skipped} badcases already complete"
            + (f", {self.held} held out by label issues" if self.held else "")
        ]
        out += [f"  ! {p}" for p in self.problems]
        return out


def generate_round(
    engine: Engine, cfg: RewriteConfig, source: VariantSource, actor: str, progress: Progress | None = None
) -> RewriteReport:
    """Bring every badcase of the round to ``cfg.n`` variants. Stopped and started again, it continues
    where it was: variant k of a badcase is generated once, with the same seed."""
    if cfg.n < 1:
        raise InputError(f"--n must be at least 1, got {cfg.n}")
    rid = round_id(engine, cfg.round_no)
    with read_session(engine) as s:
        # A badcase whose gold codes are flagged as wrong is not rewritten: its variants would copy the error.
        todo = s.execute(
            select(Badcase.id, Badcase.record_id, func.count(Variant.id))
            .outerjoin(Variant, Variant.badcase_id == Badcase.id)
            .where(Badcase.round_id == rid, ~held(Badcase.id))
            .group_by(Badcase.id)
            .order_by(Badcase.id)
        ).all()
        n_held = s.scalar(select(func.count()).where(Badcase.round_id == rid, held(Badcase.id))) or 0
    report = RewriteReport(cfg.round_no, badcases=len(todo), held=n_held)
    work: list[tuple[int, int, VariantRequest]] = []  # (position in todo, badcase, request)
    in_flight: list[dict[str, str]] = []  # the records sent, by 病案标识, for the gate's messages
    for position, (badcase_id, record_id, have) in enumerate(todo, 1):
        if have >= cfg.n:
            report.skipped += 1
            continue
        with read_session(engine) as s:
            rec = s.get(Record, record_id)
            sections = dict(rec.sections) if rec is not None else None
            case_id = rec.case_id if rec is not None else ""
        if sections is None:
            report.problems.append(f"badcase {badcase_id}: its record {record_id} is gone; skipped")
            continue
        work.append((position, badcase_id, VariantRequest(sections, have, cfg.n - have, cfg.seed)))
        in_flight.append({ID_KEY: case_id, **sections})
    with records_in_flight(in_flight):
        if isinstance(source, ScreenedSource):
            source.screen([request for _, _, request in work])
        _generate_and_store(engine, work, source, report, len(todo), progress)
    if progress and todo:
        progress(len(todo), len(todo))
    with write_session(engine) as s:
        audit(
            s,
            actor,
            "rewrite.generate",
            f"round {cfg.round_no}",
            generated=report.generated,
            failed=report.failed,
            held=report.held,
            generator=cfg.generator,
        )
    return report


def _generate_and_store(
    engine: Engine,
    work: list[tuple[int, int, VariantRequest]],
    source: VariantSource,
    report: RewriteReport,
    total: int,
    progress: Progress | None,
) -> None:
    # Each badcase's variants are stored before the next badcase's are asked for (a batch source goes on
    # making them meanwhile), so a kill or an engine that goes away loses nothing already generated.
    requests = [request for _, _, request in work]
    made_all = (
        source.variants_many(requests)
        if isinstance(source, BatchVariantSource)
        else (source.variants(r.sections, r.start, r.n, r.seed) for r in requests)
    )
    stored = 0
    try:
        for (position, badcase_id, request), made in zip(work, made_all, strict=True):
            _store(engine, badcase_id, request.start, made, source)
            stored += 1
            report.generated += sum(v.sections is not None for v in made)
            report.failed += sum(v.sections is None for v in made)
            if progress:
                progress(position, total)
    except SraditError as e:
        # The engine went away: what was generated is committed; say where it stopped.
        report.problems.append(f"badcase {work[stored][1]}: {e}")
        raise SraditError("\n".join(report.lines())) from e


def _store(engine: Engine, badcase_id: int, start: int, made: list[GeneratedVariant], source: VariantSource) -> None:
    with write_session(engine) as s:
        # Re-read under the lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: the badcase's row, held to commit): a
        # concurrent run may have stored some of these meanwhile.
        s.scalar(select(Badcase.id).where(Badcase.id == badcase_id).with_for_update())
        have = s.scalar(select(func.count()).where(Variant.badcase_id == badcase_id)) or 0
        rows = [
            {
                "badcase_id": badcase_id,
                "seq": seq,
                "sections": v.sections,
                "generator": source.generator_name,
                "model": source.model,
                "prompt_version": source.prompt_version,
                "temperature": v.temperature,
                "seed": v.seed,
                "edits": list(v.edits),
                "status": "generated" if v.sections is not None else "failed",
                "error": v.error,
                "attempts": v.attempts,
                "facts": v.facts,
            }
            for seq, v in enumerate(made, start)
            if seq >= have
        ]
        if rows:  # one INSERT for the badcase's variants, no ORM object per row
            s.execute(insert(Variant), rows)


class RuleRewriter:
    """The rule-based generator as a variant source: deterministic, so variant k is the same on a rerun.
    Given many badcases it spreads them over ``workers`` processes (None: one per CPU core)."""

    generator_name = "rules"
    prompt_version = None
    model = None

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def variants(self, sections: Mapping[str, str], start: int, n: int, seed: int) -> list[GeneratedVariant]:
        return next(self.variants_many([VariantRequest(sections, start, n, seed)]))

    def variants_many(self, requests: Sequence[VariantRequest]) -> Iterator[list[GeneratedVariant]]:
        from pipeline.augment.rule_rewriter import kept_variants

        # The workers get plain tuples and a function of the rule rewriter's module: unpickling either imports
        # that module alone, not this one's database layer (half a CPU-second per worker process).
        work = [(dict(r.sections), r.start, r.n, r.seed) for r in requests]
        for r, made in zip(requests, imap(kept_variants, work, self.workers), strict=True):
            yield [GeneratedVariant(sections, edits, None, 1, r.seed, None, facts) for sections, edits, facts in made]
