"""Running the filter chain over a round, storing every verdict, and ranking the survivors for review."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, case, delete, func, insert, select, update

from db.engine import read_session, write_session
from db.models import Badcase, Record, Variant, VariantVerdict
from pipeline.audit import audit
from pipeline.augment.filters import Candidate, Filter, Verdict
from pipeline.protocols import Progress
from pipeline.rounds.lookup import in_round, round_id

#: Display and funnel order. Filters marked ``survivors_only`` (the policy model) run last, on the variants
#: every other filter passed: the paper's policy check is the costliest call and never judges a dropped variant.
CHAIN_ORDER = ("label", "facts", "duplicates", "length", "policy")


@dataclass
class FilterReport:
    round_no: int
    variants: int = 0
    passed: int = 0
    by_filter: Counter[str] = field(default_factory=Counter)  #: variants each filter passed
    badcases_with_passing: int = 0

    def lines(self) -> list[str]:
        per = ", ".join(f"{name} {self.by_filter[name]}" for name in CHAIN_ORDER if name in self.by_filter)
        return [
            f"round {self.round_no}: {self.variants} variants judged; passed per filter: {per}",
            f"passed every filter: {self.passed}; badcases with at least one: {self.badcases_with_passing}",
        ]


def candidates(engine: Engine, rid: int) -> dict[int, list[Candidate]]:
    """The round's generated variants as the filters read them, by badcase id."""
    with read_session(engine) as s:
        rows = s.execute(
            select(Variant, Badcase, Record)
            .join(Badcase, Badcase.id == Variant.badcase_id)
            .join(Record, Record.id == Badcase.record_id)
            .where(Badcase.round_id == rid, Variant.status == "generated")
            .order_by(Badcase.id, Variant.seq)
        ).all()
    out: dict[int, list[Candidate]] = defaultdict(list)
    for v, b, r in rows:
        out[b.id].append(
            Candidate(
                v.id,
                b.id,
                v.seq,
                r.case_id,
                dict(v.sections or {}),
                dict(r.sections),
                b.gold_principal,
                tuple(r.other_codes or ()),
                v.facts,
            )
        )
    return out


def _rank_key(verdicts: dict[str, Verdict]) -> tuple[float, float]:
    """Faithful first (a unanimous policy vote beats a split one), then the most different wording."""
    policy = verdicts.get("policy")
    split = 0.0
    if policy is not None and policy.detail and policy.detail.get("votes"):
        principal_votes = policy.detail["votes"].get("principal") or []
        split = float(len(set(principal_votes)) - 1)
    similarity = (
        (verdicts["duplicates"].detail or {}).get("similarity_to_original", 100.0)
        if "duplicates" in verdicts
        else 100.0
    )
    return split, similarity


def filter_round(
    engine: Engine,
    round_no: int,
    filters: Sequence[Filter],
    actor: str,
    progress: Progress | None = None,
    badcases_per_batch: int = 50,
) -> FilterReport:
    """Judge every generated variant of the round with every filter; one commit per batch of badcases
    (at N=20 about a thousand variants: enough for the filters' worker processes to pay off, a few seconds
    of work between commits)."""
    rid = round_id(engine, round_no)
    groups = candidates(engine, rid)
    report = FilterReport(round_no)
    ids = list(groups)
    for start in range(0, len(ids), badcases_per_batch):
        chunk = ids[start : start + badcases_per_batch]
        batch = [c for bid in chunk for c in groups[bid]]
        judged: dict[int, dict[str, Verdict]] = defaultdict(dict)
        for f in sorted(filters, key=lambda f: getattr(f, "survivors_only", False)):
            todo = batch
            if getattr(f, "survivors_only", False):
                todo = [c for c in batch if all(v.passed for v in judged[c.variant_id].values())]
            for c, verdict in zip(todo, f.judge(todo) if todo else [], strict=True):
                judged[c.variant_id][f.name] = verdict
        _store(engine, chunk, groups, judged, [f.name for f in filters], report)
        if progress:
            progress(min(start + badcases_per_batch, len(ids)), len(ids))
    with write_session(engine) as s:
        audit(
            s,
            actor,
            "rewrite.filter",
            f"round {round_no}",
            variants=report.variants,
            passed=report.passed,
            filters=[f.name for f in filters],
        )
    return report


def _store(
    engine: Engine,
    chunk: list[int],
    groups: dict[int, list[Candidate]],
    judged: dict[int, dict[str, Verdict]],
    names: list[str],
    report: FilterReport,
) -> None:
    with write_session(engine) as s:
        # The chunk's badcases locked (PostgreSQL; SQLite's BEGIN IMMEDIATE locks everything), in id order so two
        # runs never wait on each other: a concurrent run's verdicts are replaced, never doubled.
        s.execute(select(Badcase.id).where(Badcase.id.in_(chunk)).order_by(Badcase.id).with_for_update())
        variant_ids = [c.variant_id for bid in chunk for c in groups[bid]]
        # A re-run replaces the verdicts of the filters it ran; the variants themselves are never deleted.
        s.execute(
            delete(VariantVerdict).where(VariantVerdict.variant_id.in_(variant_ids), VariantVerdict.filter.in_(names))
        )
        # Written in bulk (one INSERT of all verdicts, one UPDATE by id of all variants): no variant is loaded, and
        # no ORM object is made per row.
        rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for bid in chunk:
            survivors = []
            for c in groups[bid]:
                verdicts = judged[c.variant_id]
                rows += (
                    {
                        "variant_id": c.variant_id,
                        "filter": name,
                        "passed": v.passed,
                        "reason": v.reason,
                        "detail": v.detail,
                    }
                    for name, v in verdicts.items()
                )
                passed = all(v.passed for v in verdicts.values())
                update_row: dict[str, Any] = {"id": c.variant_id, "passed": passed, "rank": None}
                dup = verdicts.get("duplicates")
                if dup is not None and dup.detail:
                    update_row["similarity"] = dup.detail.get("similarity_to_original")
                updates.append(update_row)
                report.variants += 1
                report.by_filter.update(name for name, v in verdicts.items() if v.passed)
                if passed:
                    survivors.append((_rank_key(verdicts), c.seq, update_row))
            for rank, (_key, _seq, update_row) in enumerate(sorted(survivors, key=lambda t: (t[0], t[1])), 1):
                update_row["rank"] = rank
            report.passed += len(survivors)
            report.badcases_with_passing += bool(survivors)
        if rows:
            s.execute(insert(VariantVerdict), rows)
        if updates:
            s.execute(update(Variant), updates)


@dataclass(frozen=True)
class VariantView:
    seq: int
    status: str
    passed: bool | None
    rank: int | None
    similarity: float | None
    generator: str
    edits: tuple[str, ...]
    error: str | None
    verdicts: dict[str, tuple[bool, str]]
    sections: dict[str, str] | None


def badcase_variants(engine: Engine, case_id: str, round_no: int | None = None) -> list[tuple[int, list[VariantView]]]:
    """(round, variants ranked first, then by number) for each round in which ``case_id`` is a badcase."""
    from db.models import Round

    with read_session(engine) as s:
        q = (
            select(Badcase.id, Round.number)
            .join(Round, Round.id == Badcase.round_id)
            .join(Record, Record.id == Badcase.record_id)
            .where(Record.case_id == case_id)
            .order_by(Round.number)
        )
        if round_no is not None:
            q = q.where(in_round(Badcase.round_id, round_no))
        found = s.execute(q).all()
        out = []
        for bid, number in found:
            variants = s.scalars(select(Variant).where(Variant.badcase_id == bid)).all()
            verdicts: dict[int, dict[str, tuple[bool, str]]] = defaultdict(dict)
            for vv in s.scalars(select(VariantVerdict).where(VariantVerdict.variant_id.in_([v.id for v in variants]))):
                verdicts[vv.variant_id][vv.filter] = (vv.passed, vv.reason)
            views = [
                VariantView(
                    v.seq,
                    v.status,
                    v.passed,
                    v.rank,
                    v.similarity,
                    v.generator,
                    tuple(v.edits),
                    v.error,
                    dict(
                        sorted(
                            verdicts[v.id].items(),
                            key=lambda kv: CHAIN_ORDER.index(kv[0]) if kv[0] in CHAIN_ORDER else 99,
                        )
                    ),
                    v.sections,
                )
                for v in variants
            ]
            views.sort(key=lambda x: (x.rank is None, x.rank or 0, x.seq))
            out.append((number, views))
    return out


def badcase_original(engine: Engine, case_id: str) -> dict[str, str]:
    """The sections of the record a badcase was mined from (its variants' original)."""
    with read_session(engine) as s:
        sections = s.scalar(
            select(Record.sections).join(Badcase, Badcase.record_id == Record.id).where(Record.case_id == case_id)
        )
    return dict(sections or {})


def funnel(engine: Engine, round_no: int) -> list[tuple[str, int]]:
    """Variants left after each filter in chain order (a funnel), starting from all generated."""
    rid = round_id(engine, round_no)
    with read_session(engine) as s:
        generated = (
            s.scalar(
                select(func.count())
                .select_from(Variant)
                .join(Badcase, Badcase.id == Variant.badcase_id)
                .where(Badcase.round_id == rid, Variant.status == "generated")
            )
            or 0
        )
        rows = s.execute(
            select(VariantVerdict.variant_id, VariantVerdict.filter, VariantVerdict.passed)
            .join(Variant, Variant.id == VariantVerdict.variant_id)
            .join(Badcase, Badcase.id == Variant.badcase_id)
            .where(Badcase.round_id == rid)
        ).all()
    by_variant: dict[int, dict[str, bool]] = defaultdict(dict)
    for vid, name, passed in rows:
        by_variant[vid][name] = passed
    ran = [n for n in CHAIN_ORDER if any(n in v for v in by_variant.values())]
    stages = [("generated", generated)]
    alive = set(by_variant)
    for name in ran:
        alive = {vid for vid in alive if by_variant[vid].get(name, False)}
        stages.append((name, len(alive)))
    return stages


def per_code_counts(engine: Engine, round_no: int) -> list[tuple[str, int, int]]:
    """(gold principal code, badcases, variants that passed every filter) for the round."""
    rid = round_id(engine, round_no)
    with read_session(engine) as s:
        rows = s.execute(
            select(
                Badcase.gold_principal,
                func.count(func.distinct(Badcase.id)),
                func.count(Variant.id).filter(Variant.passed.is_(True)),
            )
            .outerjoin(Variant, Variant.badcase_id == Badcase.id)
            .where(Badcase.round_id == rid)
            .group_by(Badcase.gold_principal)
            .order_by(Badcase.gold_principal)
        ).all()
    return [(code, n, p) for code, n, p in rows]


@dataclass(frozen=True)
class Survivors:
    """One badcase's variants before review: how many were judged and passed, and, when none passed, why."""

    case_id: str
    judged: int
    passed: int
    why: str | None  #: for a badcase left without a variant: each filter's rejections and a typical reason


def survivors(engine: Engine, round_no: int) -> list[Survivors]:
    """Per badcase of the round (in badcase order), its judged and passing variants; a badcase that kept none is
    named with the filters that stopped its variants (each variant counted at its first failing filter, in chain
    order) and a typical reason."""
    rid = round_id(engine, round_no)
    with read_session(engine) as s:
        counts = s.execute(
            select(
                Record.case_id,
                Badcase.id,
                func.count(Variant.id),
                func.sum(case((Variant.passed.is_(True), 1), else_=0)),
            )
            .join(Badcase, Badcase.record_id == Record.id)
            .join(Variant, Variant.badcase_id == Badcase.id)
            .where(Badcase.round_id == rid, Variant.status == "generated", Variant.passed.is_not(None))
            .group_by(Record.case_id, Badcase.id)
            .order_by(Badcase.id)
        ).all()
        failures = s.execute(
            select(Variant.badcase_id, Variant.id, VariantVerdict.filter, VariantVerdict.reason)
            .join(VariantVerdict, VariantVerdict.variant_id == Variant.id)
            .join(Badcase, Badcase.id == Variant.badcase_id)
            .where(Badcase.round_id == rid, Variant.status == "generated", VariantVerdict.passed.is_(False))
        ).all()
    first: dict[int, tuple[int, str, str]] = {}  #: variant id → (badcase id, its first failing filter, its reason)
    for bid, vid, name, reason in failures:
        if vid not in first or CHAIN_ORDER.index(name) < CHAIN_ORDER.index(first[vid][1]):
            first[vid] = (bid, name, reason)
    out = []
    for case_id, bid, judged, passed in counts:
        why = None
        if not passed:
            stops = [(name, reason) for b, name, reason in first.values() if b == bid]
            per_filter = Counter(name for name, _ in stops)
            top = per_filter.most_common(1)[0][0] if per_filter else None
            typical = next((reason for name, reason in stops if name == top), None)
            why = ", ".join(f"{name} rejected {n}" for name, n in per_filter.most_common())
            why += f" (e.g. {typical})" if typical else ""
        out.append(Survivors(case_id, int(judged), int(passed or 0), why))
    return out
