"""The variant board: a badcase's variants together, ranked by the filter chain, with this expert's votes.

The paper's expert step is choosing, among a badcase's surviving rewrites, the one closest in meaning; the
board shows them side by side so that choice is one screen, not twenty. Every variant is named by one
number everywhere: its number within the badcase, from 1 (``Variant.seq + 1``).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz.distance import Indel
from sqlalchemy import Engine, String, and_, cast, exists, func, or_, select
from sqlalchemy.orm import aliased

from db.engine import read_session
from db.models import Badcase, Record, Review, Round, Variant, VariantVerdict
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.errors import InputError
from pipeline.review.assignments import assigned_to
from pipeline.review.label_issues import held
from pipeline.review.queue import decide_many
from pipeline.rounds.lookup import in_round, round_id, stored_config


@dataclass(frozen=True)
class Vote:
    """This expert's active decision on a variant."""

    review_id: int
    decision: str
    score: int | None
    best: bool
    reason: str | None
    comment: str | None


@dataclass(frozen=True)
class Card:
    variant_id: int
    number: int  #: the variant's number within its badcase, from 1: shown as "Variant N" everywhere
    rank: int | None  #: the filter chain's order among the passed variants (1 first)
    passed: bool | None
    similarity: float | None
    changed: tuple[str, ...]  #: the sections that differ from the original
    summary: str  #: what changed, in one line
    sections: dict[str, str]
    verdicts: dict[str, tuple[bool, str]]
    mine: Vote | None
    approvals: int  #: experts approving it (one vote per expert)
    rejections: int
    best_votes: int
    others_hidden: bool = False  #: blind review: the counts above are withheld until this expert votes on it


@dataclass(frozen=True)
class Board:
    badcase_id: int
    round_no: int
    case_id: str
    status: str
    original: dict[str, str]
    gold_principal: str
    gold_others: tuple[str, ...]
    predicted_principal: str | None
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    error_types: tuple[str, ...]
    #: how sure the out-of-fold model is that the gold codes are wrong (0–1; None: not measured)
    label_error_confidence: float | None
    cards: tuple[Card, ...]
    #: the round's blind review: a card's expert counts are 0 until this expert has voted on it
    blind: bool = False

    @property
    def best(self) -> Card | None:
        return next((c for c in self.cards if c.mine is not None and c.mine.best), None)

    @property
    def undecided(self) -> tuple[Card, ...]:
        """Cards this expert has not approved or rejected (a skip leaves a card undecided)."""
        return tuple(c for c in self.cards if c.mine is None or c.mine.decision == "skip")

    @property
    def finished(self) -> bool:
        return self.best is not None or not self.undecided

    def notice(self) -> str | None:
        """What a finished badcase says: ``best picked: Variant 3; 7 variants left undecided``."""
        if not self.finished:
            return None
        left = len(self.undecided)
        rest = f"{left} variant{'s' if left != 1 else ''} left undecided" if left else "every variant decided"
        best = self.best
        return f"best picked: Variant {best.number}; {rest}" if best else f"no best picked; {rest}"

    def card(self, number: int) -> Card:
        for c in self.cards:
            if c.number == number:
                return c
        raise InputError(f"badcase {self.case_id} has no Variant {number}")


def _in_scope(include_filtered: bool):  # type: ignore[no-untyped-def]
    scope = and_(Variant.status == "generated")
    return scope if include_filtered else and_(scope, Variant.passed.is_(True))


def with_code(code: str):  # type: ignore[no-untyped-def]
    """Badcases whose record has ``code`` among its gold codes, principal or other (the other codes are a JSON
    list: matched as its quoted item in the list's text, which SQLite and PostgreSQL both give)."""
    quoted = '"' + code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + '"'
    record = select(Record.id).where(
        Record.id == Badcase.record_id,
        or_(Record.principal_code == code, cast(Record.other_codes, String).like(f"%{quoted}%", escape="\\")),
    )
    return exists(record)


@dataclass(frozen=True)
class Only:
    """What an expert narrowed their queue to on the Review page."""

    code: str | None = None  #: badcases with this gold code (principal or other)
    assigned: bool = False  #: badcases assigned to them

    def words(self) -> str:
        """ " with code I10 assigned to you", for "no other badcase left …"."""
        return (f" with code {self.code}" if self.code else "") + (" assigned to you" if self.assigned else "")


#: The queue not narrowed.
EVERY = Only()


def next_badcase(
    engine: Engine,
    reviewer_id: int,
    round_no: int,
    include_filtered: bool = False,
    after: int | None = None,
    only: Only = EVERY,
) -> int | None:
    """The first badcase (after ``after``, then from the start) this expert has not finished: no best picked
    and a variant in scope not yet approved or rejected by them, and no label issue holding it; of those, ``only``
    the ones with its code and assigned to them if it says so. None: nothing left."""
    mine = aliased(Review)
    decided = exists().where(
        mine.variant_id == Variant.id,
        mine.reviewer_id == reviewer_id,
        mine.undone_at.is_(None),
        mine.decision != "skip",
    )
    open_variant = exists().where(Variant.badcase_id == Badcase.id, _in_scope(include_filtered), ~decided)
    picked = exists().where(
        mine.badcase_id == Badcase.id, mine.reviewer_id == reviewer_id, mine.undone_at.is_(None), mine.best.is_(True)
    )
    with read_session(engine) as s:
        rid = round_id(s, round_no)
        q = (
            select(Badcase.id)
            .where(
                Badcase.round_id == rid,
                Badcase.status.in_(("open", "in_review")),
                open_variant,
                ~picked,
                ~held(Badcase.id),  # its gold codes are in question: no rewrite of it is worth deciding on
            )
            .order_by(Badcase.id)
            .limit(1)
        )
        if only.code:
            q = q.where(with_code(only.code))
        if only.assigned:
            q = q.where(assigned_to(reviewer_id))
        found = s.scalar(q.where(Badcase.id > after)) if after is not None else None
        return found if found is not None else s.scalar(q)


def find_badcase(engine: Engine, round_no: int, case_id: str) -> int:
    """The badcase of round ``round_no`` whose record is ``case_id`` (its 病案标识); InputError naming both when
    there is none."""
    with read_session(engine) as s:
        found = s.scalar(
            select(Badcase.id)
            .join(Record, Record.id == Badcase.record_id)
            .where(Badcase.round_id == round_id(s, round_no), Record.case_id == case_id.strip())
        )
    if found is None:
        raise InputError(f"round {round_no} has no badcase of record {case_id.strip()!r}")
    return found


def locate(engine: Engine, variant_id: int) -> tuple[int, int]:
    """(badcase id, Variant number) of a variant."""
    with read_session(engine) as s:
        row = s.execute(select(Variant.badcase_id, Variant.seq).where(Variant.id == variant_id)).one_or_none()
    if row is None:
        raise InputError(f"there is no variant {variant_id}")
    return row[0], row[1] + 1


def _summary(original: dict[str, str], variant: dict[str, str], edits: list[str]) -> tuple[tuple[str, ...], str]:
    changed = tuple(name for name in TEXT_SECTIONS if original.get(name, "") != variant.get(name, ""))
    if not changed:
        return changed, "no section changed"
    parts = []
    for name in changed[:3]:
        a, b = original.get(name, ""), variant.get(name, "")
        ops = Indel.opcodes(a, b)
        removed = sum(a1 - a0 for tag, a0, a1, _b0, _b1 in ops if tag in ("delete", "replace"))
        added = sum(b1 - b0 for tag, _a0, _a1, b0, b1 in ops if tag in ("insert", "replace"))
        parts.append(f"{name} +{added}/−{removed}")
    more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
    shown_edits = f" · {'; '.join(edits[:2])}" if edits else ""
    return changed, ", ".join(parts) + more + shown_edits


def load_board(engine: Engine, reviewer_id: int, badcase_id: int, include_filtered: bool = False) -> Board:
    """The badcase's variants in the filter chain's order (ranked survivors, then the filtered-out ones)."""
    with read_session(engine) as s:
        b = s.get(Badcase, badcase_id)
        if b is None:
            raise InputError(f"there is no badcase {badcase_id}")
        rec = s.get(Record, b.record_id)
        rnd = s.get(Round, b.round_id)
        round_no = rnd.number if rnd else 0
        blind = bool(rnd and stored_config(rnd).blind_review)
        variants = s.scalars(
            select(Variant)
            .where(Variant.badcase_id == badcase_id, _in_scope(include_filtered))
            .order_by(Variant.passed.is_(True).desc(), Variant.rank, Variant.seq)
        ).all()
        ids = [v.id for v in variants]
        verdicts: dict[int, dict[str, tuple[bool, str]]] = defaultdict(dict)
        for vv in s.scalars(select(VariantVerdict).where(VariantVerdict.variant_id.in_(ids))):
            verdicts[vv.variant_id][vv.filter] = (vv.passed, vv.reason)
        active = s.scalars(
            select(Review)
            .where(Review.badcase_id == badcase_id, Review.undone_at.is_(None), Review.decision != "skip")
            .order_by(Review.id)
        ).all()
        mine_rows = s.scalars(
            select(Review).where(
                Review.badcase_id == badcase_id, Review.reviewer_id == reviewer_id, Review.undone_at.is_(None)
            )
        ).all()
    latest: dict[int, dict[int, Review]] = defaultdict(dict)  # variant → expert → their vote
    for r in active:
        latest[r.variant_id][r.reviewer_id] = r
    mine = {r.variant_id: r for r in mine_rows}
    original = dict(rec.sections) if rec else {}
    cards = []
    for v in variants:
        m = mine.get(v.id)
        # Blind review: the others' votes stay hidden until this expert has voted on the variant.
        hidden = blind and (m is None or m.decision == "skip")
        votes = () if hidden else latest.get(v.id, {}).values()
        changed, summary = _summary(original, dict(v.sections or {}), list(v.edits or []))
        cards.append(
            Card(
                variant_id=v.id,
                number=v.seq + 1,
                rank=v.rank,
                passed=v.passed,
                similarity=v.similarity,
                changed=changed,
                summary=summary,
                sections=dict(v.sections or {}),
                verdicts=verdicts.get(v.id, {}),
                mine=Vote(m.id, m.decision, m.score, m.best, m.reason, m.comment) if m else None,
                approvals=sum(r.decision == "approve" for r in votes),
                rejections=sum(r.decision == "reject" for r in votes),
                best_votes=sum(r.best for r in votes),
                others_hidden=hidden,
            )
        )
    return Board(
        badcase_id=b.id,
        round_no=round_no,
        case_id=rec.case_id if rec else "?",
        status=b.status,
        original=original,
        gold_principal=b.gold_principal,
        gold_others=tuple(rec.other_codes or ()) if rec else (),
        predicted_principal=b.predicted_principal,
        missing=tuple(b.missing_codes),
        extra=tuple(b.extra_codes),
        error_types=tuple(b.error_types),
        label_error_confidence=b.label_error_confidence,
        cards=tuple(cards),
        blind=blind,
    )


def decide_rest(
    engine: Engine,
    reviewer_id: int,
    board: Board,
    decision: str,
    *,
    seconds: float | None = None,
    required: int = 1,
) -> int:
    """Approve or reject, in one transaction, every card of the board this expert has not decided."""
    rest = [c.variant_id for c in board.undecided]
    if not rest:
        return 0
    return decide_many(engine, reviewer_id, rest, decision, seconds=seconds, required=required)


@dataclass(frozen=True)
class HistoryRow:
    review_id: int
    badcase_id: int
    case_id: str
    variant_id: int
    number: int
    decision: str  #: approve | reject | skip | best
    score: int | None
    reason: str | None  #: the reason of a rejection, else the comment
    at: datetime
    undone: bool  #: undone, or replaced by a later decision on the same variant


def history(engine: Engine, reviewer_id: int, round_no: int, since_id: int = 0) -> list[HistoryRow]:
    """Every decision this expert made in the round after review ``since_id`` (the board passes the last one
    before its session began), newest first, undone and replaced ones included and marked (each can be reopened)."""
    with read_session(engine) as s:
        rows = s.execute(
            select(Review, Record.case_id, Variant.seq)
            .join(Badcase, Badcase.id == Review.badcase_id)
            .join(Record, Record.id == Badcase.record_id)
            .join(Variant, Variant.id == Review.variant_id)
            .where(in_round(Badcase.round_id, round_no), Review.reviewer_id == reviewer_id, Review.id > since_id)
            .order_by(Review.id.desc())
        ).all()
    return [
        HistoryRow(
            r.id,
            r.badcase_id,
            case_id,
            r.variant_id,
            seq + 1,
            "best" if r.best else r.decision,
            r.score,
            r.reason or r.comment,
            r.created_at,
            r.undone_at is not None,
        )
        for r, case_id, seq in rows
    ]


def last_review_id(engine: Engine, reviewer_id: int) -> int:
    """The id of this expert's latest decision anywhere (0 for none): where a session's history starts."""
    with read_session(engine) as s:
        return s.scalar(select(func.max(Review.id)).where(Review.reviewer_id == reviewer_id)) or 0


def expert_minutes_per_badcase(engine: Engine, round_no: int) -> float | None:
    """The median expert time per badcase, in minutes: per expert and badcase, the active seconds of every
    decision they made on it (undone ones too: the time was spent), gaps of over a minute between their actions
    left out. Decisions stored before active time was (no ``active_seconds``) count the board's open → best pick."""
    with read_session(engine) as s:
        rows = s.execute(
            select(Review.reviewer_id, Review.badcase_id, Review.active_seconds, Review.board_seconds, Review.best)
            .join(Badcase, Badcase.id == Review.badcase_id)
            .where(in_round(Badcase.round_id, round_no))
            .order_by(Review.id)
        ).all()
    active: dict[tuple[int, int], float] = defaultdict(float)
    legacy: dict[tuple[int, int], float] = {}
    for reviewer, badcase, active_seconds, board_seconds, best in rows:
        if active_seconds is not None:
            active[(reviewer, badcase)] += active_seconds
        elif best and board_seconds is not None:
            legacy[(reviewer, badcase)] = board_seconds
    seconds = [*active.values(), *(v for k, v in legacy.items() if k not in active)]
    return statistics.median(seconds) / 60 if seconds else None
