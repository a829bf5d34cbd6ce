"""The expert review queue: next item, decisions, undo, outcomes by majority, settlement, agreement.

Every decision is a row in ``reviews`` (undo marks it undone, never deletes it) written with its audit
entry and the badcase's new outcome in one transaction, so concurrent experts queue instead of overwriting
each other: on SQLite the whole transaction is BEGIN IMMEDIATE; on PostgreSQL it takes row locks (``FOR
UPDATE``), always in the same order — the reviewer, then the badcase — so two never wait on each other.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import Engine, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from db.base import utcnow
from db.engine import read_session, write_session
from db.models import Badcase, Record, Review, Round, Selection, User, Variant, VariantVerdict
from db.vocabulary import REVIEW_DECISIONS
from pipeline.audit import audit
from pipeline.errors import InputError
from pipeline.review.label_issues import held
from pipeline.rounds.lifecycle import decided_text, review_complete
from pipeline.rounds.lookup import find_round, round_id


@dataclass(frozen=True)
class ReviewItem:
    variant_id: int
    badcase_id: int
    round_no: int
    case_id: str
    seq: int
    rank: int | None
    passed: bool | None
    original: dict[str, str]
    variant: dict[str, str]
    gold_principal: str
    gold_others: tuple[str, ...]
    predicted_principal: str | None
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    error_types: tuple[str, ...]
    verdicts: dict[str, tuple[bool, str, dict | None]]
    edits: tuple[str, ...]
    similarity: float | None
    position: int  #: this variant's place among the badcase's variants in the queue (1-based)
    of: int


def _active(reviewer_id: int):  # type: ignore[no-untyped-def]
    return and_(Review.reviewer_id == reviewer_id, Review.undone_at.is_(None))


def next_item(engine: Engine, reviewer_id: int, round_no: int, include_filtered: bool = False) -> ReviewItem | None:
    """The next variant for this reviewer: badcase by badcase, ranked survivors first; skipped ones last."""
    with read_session(engine) as s:
        rid = round_id(s, round_no)
        for skipped in (False, True):
            variant_id = s.scalar(_candidates(rid, reviewer_id, include_filtered, skipped))
            if variant_id is not None:
                return _item(s, variant_id, include_filtered)
    return None


def _candidates(rid: int, reviewer_id: int, include_filtered: bool, skipped: bool):  # type: ignore[no-untyped-def]
    """First pass: variants this reviewer has not touched. Second pass (the first found none): the skipped.

    Walking badcases in id order and their variants through the (badcase, passed, rank) index lets SQLite
    stop at the first hit instead of sorting the whole round (60,000 variants).
    """
    mine = aliased(Review)
    touched = exists().where(
        mine.variant_id == Variant.id,
        mine.reviewer_id == reviewer_id,
        mine.undone_at.is_(None),
        *(() if not skipped else (mine.decision != "skip",)),
    )
    finished_by_me = exists().where(
        mine.badcase_id == Badcase.id, mine.reviewer_id == reviewer_id, mine.undone_at.is_(None), mine.best.is_(True)
    )
    q = (
        select(Variant.id)
        .join(Badcase, Badcase.id == Variant.badcase_id)
        .where(
            Badcase.round_id == rid,
            Badcase.status.in_(("open", "in_review")),
            ~finished_by_me,
            Variant.status == "generated",
            ~touched,
            ~held(Badcase.id),
        )
        .limit(1)
    )
    if include_filtered:
        return q.order_by(Badcase.id, Variant.passed.is_(True).desc(), Variant.rank, Variant.seq)
    return q.where(Variant.passed.is_(True)).order_by(Badcase.id, Variant.rank, Variant.seq)


def item(engine: Engine, variant_id: int, include_filtered: bool = True) -> ReviewItem:
    with read_session(engine) as s:
        return _item(s, variant_id, include_filtered)


def _item(s: Session, variant_id: int, include_filtered: bool) -> ReviewItem:
    v = s.get(Variant, variant_id)
    if v is None:
        raise InputError(f"there is no variant {variant_id}")
    b = s.get(Badcase, v.badcase_id)
    assert b is not None
    rec = s.get(Record, b.record_id)
    round_no = s.scalar(select(Round.number).where(Round.id == b.round_id)) or 0
    verdicts = {
        vv.filter: (vv.passed, vv.reason, vv.detail)
        for vv in s.scalars(select(VariantVerdict).where(VariantVerdict.variant_id == v.id))
    }
    siblings = select(Variant.id).where(Variant.badcase_id == b.id, Variant.status == "generated")
    if not include_filtered:
        siblings = siblings.where(Variant.passed.is_(True))
    order = list(s.scalars(siblings.order_by(Variant.passed.is_(True).desc(), Variant.rank, Variant.seq)))
    return ReviewItem(
        variant_id=v.id,
        badcase_id=b.id,
        round_no=round_no,
        case_id=rec.case_id if rec else "?",
        seq=v.seq,
        rank=v.rank,
        passed=v.passed,
        original=dict(rec.sections) if rec else {},
        variant=dict(v.sections or {}),
        gold_principal=b.gold_principal,
        gold_others=tuple(rec.other_codes or ()) if rec else (),
        predicted_principal=b.predicted_principal,
        missing=tuple(b.missing_codes),
        extra=tuple(b.extra_codes),
        error_types=tuple(b.error_types),
        verdicts=verdicts,
        edits=tuple(v.edits),
        similarity=v.similarity,
        position=order.index(v.id) + 1 if v.id in order else 0,
        of=len(order),
    )


#: Round statuses after review: the selection feeds augmentation, so no expert decision may change it.
CLOSED_STAGES = ("augmenting", "training", "done", "abandoned")


class RoundClosed(InputError):
    """A decision on a round that has left review (a stale tab): refused, nothing written."""


def _check_open(s: Session, badcase_id: int) -> None:
    number, status = s.execute(
        select(Round.number, Round.status).join(Badcase, Badcase.round_id == Round.id).where(Badcase.id == badcase_id)
    ).one()
    if status in CLOSED_STAGES:
        raise RoundClosed(f"round {number} has left review (it is {status}): decisions on it are closed")


def round_open(engine: Engine, round_no: int) -> bool:
    with read_session(engine) as s:
        return find_round(s, round_no).status not in CLOSED_STAGES


def decide(
    engine: Engine,
    reviewer_id: int,
    variant_id: int,
    decision: str,
    *,
    score: int | None = None,
    best: bool = False,
    reason: str | None = None,
    comment: str | None = None,
    seconds: float | None = None,
    board_seconds: float | None = None,
    active_seconds: float | None = None,
    required: int = 1,
) -> int:
    """Store one decision (best implies approve) and the badcase's new outcome; returns the review id.

    One vote per expert per variant: an earlier active decision of this expert on this variant is marked
    undone and the replacement audited (the partial unique index ``uq_reviews_active_vote`` backs this up); the
    new row points at what it replaced, so :func:`undo_last` can put it back. A round that has left review
    refuses with :class:`RoundClosed`."""
    if decision not in REVIEW_DECISIONS:
        raise InputError(f"decision {decision!r} is not one of {', '.join(REVIEW_DECISIONS)}")
    if score is not None and not 1 <= score <= 5:
        raise InputError(f"score {score} is not between 1 and 5")
    if best:
        decision = "approve"
    with write_session(engine) as s:
        review = _decide_in(
            s, reviewer_id, variant_id, decision, score, best, reason, comment, seconds, board_seconds, active_seconds
        )
        _update_outcome(s, review.badcase_id, required)
        return review.id


def _decide_in(
    s: Session,
    reviewer_id: int,
    variant_id: int,
    decision: str,
    score: int | None,
    best: bool,
    reason: str | None,
    comment: str | None,
    seconds: float | None,
    board_seconds: float | None = None,
    active_seconds: float | None = None,
) -> Review:
    """One decision inside the caller's write transaction (the board decides several in one)."""
    # Row locks on PostgreSQL (SQLite's BEGIN IMMEDIATE already serialises writers), always reviewer then
    # badcase: two tabs of one expert queue on the reviewer's row instead of both finding no active vote, and
    # the outcome below counts every decision on the badcase committed before ours.
    user = s.get(User, reviewer_id, with_for_update=True)
    variant = s.get(Variant, variant_id)
    if user is None or variant is None:
        raise InputError(f"unknown {'user' if user is None else 'variant'} ({reviewer_id}, {variant_id})")
    _lock_badcase(s, variant.badcase_id)
    _check_open(s, variant.badcase_id)
    unbests: Review | None = None
    if best:
        # One best per reviewer and badcase: a new pick replaces the old one (on another variant; on this one the
        # old vote is replaced whole, below).
        for old in s.scalars(
            select(Review).where(
                Review.badcase_id == variant.badcase_id,
                _active(reviewer_id),
                Review.best.is_(True),
                Review.variant_id != variant_id,
            )
        ):
            old.best = False
            unbests = old
    # At most one row (the unique index): the vote this decision replaces, kept for undo.
    replaced = s.scalars(select(Review).where(Review.variant_id == variant_id, _active(reviewer_id))).all()
    for old in replaced:
        old.undone_at = utcnow()
    s.flush()  # the old vote is inactive before the new row meets the unique index
    review = Review(
        variant_id=variant_id,
        badcase_id=variant.badcase_id,
        reviewer_id=reviewer_id,
        decision=decision,
        score=score,
        best=best,
        reason=reason or None,
        comment=comment or None,
        seconds=seconds,
        board_seconds=board_seconds,
        active_seconds=active_seconds,
        replaces_id=replaced[0].id if replaced else None,
        unbests_id=unbests.id if unbests else None,
    )
    s.add(review)
    s.flush()
    audit(
        s,
        user.name,
        f"review.{'best' if best else decision}",
        f"variant {variant_id}",
        badcase=variant.badcase_id,
        score=score,
        seconds=seconds,
        **(
            {"replaces": [{"review": r.id, "decision": r.decision, "best": r.best} for r in replaced]}
            if replaced
            else {}
        ),
    )
    return review


def decide_many(
    engine: Engine,
    reviewer_id: int,
    variant_ids: list[int],
    decision: str,
    *,
    seconds: float | None = None,
    required: int = 1,
) -> int:
    """The same decision on several variants of one badcase in one transaction (all or nothing), as one batch:
    undo takes it back whole."""
    if decision not in ("approve", "reject"):
        raise InputError(f"decision {decision!r} is not approve or reject")
    with write_session(engine) as s:
        written = [_decide_in(s, reviewer_id, vid, decision, None, False, None, None, seconds) for vid in variant_ids]
        for review in written:
            review.batch_id = written[0].id
        for badcase_id in {r.badcase_id for r in written}:
            _update_outcome(s, badcase_id, required)
    return len(variant_ids)


@dataclass(frozen=True)
class Undone:
    """What :func:`undo_last` took back: the variant, the decision undone and what the variant holds now."""

    variant_id: int
    decision: str  #: the decision undone ("best" for a best pick)
    score: int | None  #: its score
    restored: str | None  #: the expert's decision on the variant now (the one the undone one had replaced)
    restored_score: int | None
    variants: int = 1  #: variants it took back: more than one for an "approve / reject the rest"


def undo_last(engine: Engine, reviewer_id: int, required: int = 1) -> Undone | None:
    """Go back one step: undo this reviewer's latest active decision and put back what it replaced (their earlier
    vote on the variant, with its score and reason, and a best pick it took from another variant). A step is one
    key: an "approve / reject the rest" is undone whole."""
    with write_session(engine) as s:
        user = s.get(User, reviewer_id, with_for_update=True)  # two undos at once undo two decisions
        last = s.scalar(select(Review).where(_active(reviewer_id)).order_by(Review.id.desc()).limit(1))
        if last is None:
            return None
        _lock_badcase(s, last.badcase_id)
        _check_open(s, last.badcase_id)
        step = [last]
        if last.batch_id is not None:
            batch = select(Review).where(_active(reviewer_id), Review.batch_id == last.batch_id)
            step = list(s.scalars(batch.order_by(Review.id.desc())))
        name = user.name if user else str(reviewer_id)
        restored = [_undo_one(s, reviewer_id, review, name) for review in step]
        _update_outcome(s, last.badcase_id, required)
        first = restored[-1]  # the batch's first variant: the focus goes back to where the step began
        back = step[-1]
        return Undone(
            back.variant_id,
            "best" if back.best else back.decision,
            back.score,
            None if first is None else "best" if first.best else first.decision,
            None if first is None else first.score,
            len(step),
        )


def _undo_one(s: Session, reviewer_id: int, review: Review, name: str) -> Review | None:
    """Mark one review undone and put back what it replaced; the vote restored, if any."""
    review.undone_at = utcnow()
    s.flush()  # inactive before the vote it replaced is active again (the unique index)
    restored = s.get(Review, review.replaces_id) if review.replaces_id else None
    if restored is not None:
        restored.undone_at = None
        if restored.best and _other_best(s, reviewer_id, restored):
            restored.best = False  # a best picked elsewhere since stays; this vote comes back as an approval
    unbested = s.get(Review, review.unbests_id) if review.unbests_id else None
    if unbested is not None and unbested.undone_at is None and not _other_best(s, reviewer_id, unbested):
        unbested.best = True
    s.flush()
    restores = {"restores": restored.id} if restored else {}
    audit(s, name, "review.undo", f"variant {review.variant_id}", review=review.id, **restores)
    return restored


def _other_best(s: Session, reviewer_id: int, review: Review) -> bool:
    """Whether this reviewer holds an active best pick in the review's badcase other than the review itself."""
    return (
        s.scalar(
            select(Review.id).where(
                Review.badcase_id == review.badcase_id,
                _active(reviewer_id),
                Review.best.is_(True),
                Review.id != review.id,
            )
        )
        is not None
    )


def _lock_badcase(s: Session, badcase_id: int) -> None:
    """Hold the badcase's row until commit (PostgreSQL; SQLite's BEGIN IMMEDIATE holds the whole database),
    so the outcome below counts every decision committed before ours."""
    s.scalar(select(Badcase.id).where(Badcase.id == badcase_id).with_for_update())


def _update_outcome(s: Session, badcase_id: int, required: int) -> None:
    """The badcase's status and selection after a change: the majority of the finished reviewers' best
    picks; a tie waits for an engineer (an engineer's settlement stands)."""
    badcase = s.get(Badcase, badcase_id)
    assert badcase is not None
    reviews = s.scalars(select(Review).where(Review.badcase_id == badcase_id, Review.undone_at.is_(None))).all()
    passed = set(s.scalars(select(Variant.id).where(Variant.badcase_id == badcase_id, Variant.passed.is_(True))))
    picks = _finished_picks(reviews, passed)
    settled = s.get(Selection, badcase_id)
    if settled is not None and settled.method == "engineer":
        badcase.status = "decided"
        return
    if len(picks) < required:
        badcase.status = "in_review" if reviews else "open"
        if settled is not None:
            s.delete(settled)
        return
    votes = Counter(picks.values()).most_common()
    if len(votes) > 1 and votes[0][1] == votes[1][1]:
        badcase.status = "settle"
        if settled is not None:
            s.delete(settled)
        return
    badcase.status = "decided"
    winner = votes[0][0]
    if winner is None:  # the majority found no variant good enough
        if settled is not None:
            s.delete(settled)
        return
    if settled is None:
        s.add(Selection(badcase_id=badcase_id, variant_id=winner, method="majority", decided_by="majority"))
    else:
        settled.variant_id, settled.method, settled.decided_by = winner, "majority", "majority"


def _finished_picks(reviews: list[Review] | tuple[Review, ...], passed: set[int]) -> dict[int, int | None]:
    """reviewer → best variant (None: decided every surviving variant without a best) for reviewers done."""
    by_reviewer: dict[int, list[Review]] = defaultdict(list)
    for r in reviews:
        by_reviewer[r.reviewer_id].append(r)
    picks: dict[int, int | None] = {}
    for reviewer, rs in by_reviewer.items():
        best = [r.variant_id for r in rs if r.best]
        if best:
            picks[reviewer] = best[-1]
        elif passed and passed <= {r.variant_id for r in rs if r.decision != "skip"}:
            picks[reviewer] = None
    return picks


def settle(engine: Engine, engineer: str, badcase_id: int, variant_id: int) -> None:
    with write_session(engine) as s:
        variant = s.get(Variant, variant_id)
        if variant is None or variant.badcase_id != badcase_id:
            raise InputError(f"variant {variant_id} is not a variant of badcase {badcase_id}")
        _lock_badcase(s, badcase_id)
        selection = s.get(Selection, badcase_id)
        if selection is None:
            s.add(Selection(badcase_id=badcase_id, variant_id=variant_id, method="engineer", decided_by=engineer))
        else:
            selection.variant_id, selection.method, selection.decided_by = variant_id, "engineer", engineer
        badcase = s.get(Badcase, badcase_id)
        assert badcase is not None
        badcase.status = "decided"
        audit(s, engineer, "review.settle", f"badcase {badcase_id}", variant=variant_id)


@dataclass(frozen=True)
class Progress:
    variants: int  #: variants in the queue (passed the filters)
    decided: int  #: … with at least one approve/reject
    mine: int  #: … decided by this reviewer
    badcases: int  #: badcases with a variant to review (pipeline.rounds.lifecycle.review_complete)
    badcases_decided: int

    def text(self) -> str:
        """``12 of 200 variants that passed the filters decided (you: 5) · 4 of 16 badcases with …``."""
        return (
            f"{self.decided} of {self.variants} variants that passed the filters decided (you: {self.mine}) · "
            + decided_text(self.badcases_decided, self.badcases)
        )


def progress(engine: Engine, reviewer_id: int, round_no: int) -> Progress:
    with read_session(engine) as s:
        rid = round_id(s, round_no)
        total = (
            s.scalar(
                select(func.count())
                .select_from(Variant)
                .join(Badcase, Badcase.id == Variant.badcase_id)
                .where(Badcase.round_id == rid, Variant.passed.is_(True))
            )
            or 0
        )
        # From the reviews side: a round has far fewer reviews than variants.
        decided_q = (
            select(func.count(func.distinct(Review.variant_id)))
            .join(Badcase, Badcase.id == Review.badcase_id)
            .join(Variant, Variant.id == Review.variant_id)
            .where(
                Badcase.round_id == rid, Variant.passed.is_(True), Review.undone_at.is_(None), Review.decision != "skip"
            )
        )
        decided = s.scalar(decided_q) or 0
        mine = s.scalar(decided_q.where(Review.reviewer_id == reviewer_id)) or 0
    badcases_decided, badcases = review_complete(engine, round_no)
    return Progress(total, decided, mine, badcases, badcases_decided)


@dataclass(frozen=True)
class Agreement:
    overall: float | None  #: share of reviewer pairs picking the same best variant, over all such pairs
    per_badcase: list[tuple[str, int, float]]  #: (病案标识, reviewers who picked a best, agreement)
    to_settle: list[tuple[int, str]]  #: (badcase id, 病案标识) of ties waiting for an engineer


def agreement(engine: Engine, round_no: int) -> Agreement:
    with read_session(engine) as s:
        rid = round_id(s, round_no)
        rows = s.execute(
            select(Review, Record.case_id)
            .join(Badcase, Badcase.id == Review.badcase_id)
            .join(Record, Record.id == Badcase.record_id)
            .where(Badcase.round_id == rid, Review.undone_at.is_(None), Review.decision != "skip")
        ).all()
        ties = s.execute(
            select(Badcase.id, Record.case_id)
            .join(Record, Record.id == Badcase.record_id)
            .where(Badcase.round_id == rid, Badcase.status == "settle")
            .order_by(Badcase.id)
        ).all()
    picks: dict[str, dict[int, int]] = defaultdict(dict)
    for review, case_id in rows:
        if review.best:
            picks[case_id][review.reviewer_id] = review.variant_id
    per: list[tuple[str, int, float]] = []
    agree_total = pairs_total = 0
    for case_id, chosen in sorted(picks.items()):
        # Agreement on the best variant: the share of reviewer pairs who picked the same one.
        pairs = list(itertools.combinations(chosen.values(), 2))
        if not pairs:
            continue
        agree = sum(a == b for a, b in pairs)
        per.append((case_id, len(chosen), agree / len(pairs)))
        agree_total, pairs_total = agree_total + agree, pairs_total + len(pairs)
    return Agreement(agree_total / pairs_total if pairs_total else None, per, [(i, c) for i, c in ties])


def approved_variant_ids(s: Session, round_id: int) -> set[int]:
    """Variants whose experts approve them by majority (ties are not approved): each expert counts once, with
    their latest active decision, however many rows an old database holds."""
    latest: dict[int, dict[int, str]] = defaultdict(dict)
    for variant_id, reviewer_id, decision in s.execute(
        select(Review.variant_id, Review.reviewer_id, Review.decision)
        .join(Badcase, Badcase.id == Review.badcase_id)
        .where(Badcase.round_id == round_id, Review.undone_at.is_(None), Review.decision != "skip")
        .order_by(Review.id)
    ):
        latest[variant_id][reviewer_id] = decision
    counts = {v: Counter(by_expert.values()) for v, by_expert in latest.items()}
    return {v for v, c in counts.items() if c["approve"] > c["reject"]}


def item_choices(engine: Engine, badcase_id: int) -> dict[int, str]:
    """variant id → a label with the experts' votes, for settling a tie."""
    with read_session(engine) as s:
        votes = Counter(
            s.scalars(
                select(Review.variant_id).where(
                    Review.badcase_id == badcase_id, Review.best.is_(True), Review.undone_at.is_(None)
                )
            )
        )
        variants = s.execute(
            select(Variant.id, Variant.seq)
            .where(Variant.badcase_id == badcase_id, Variant.passed.is_(True))
            .order_by(Variant.rank)
        ).all()
    return {vid: f"Variant {seq + 1} — {votes.get(vid, 0)} best votes" for vid, seq in variants}
