"""The review queue on a real database: order, decisions, undo, majority, ties, concurrency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, func, select

from db.engine import read_session
from db.models import AuditEntry, Badcase, Review, Selection, Variant
from pipeline.accounts.users import add_user
from pipeline.review.queue import agreement, approved_variant_ids, decide, next_item, progress, settle, undo_last


def _badcase_status(engine: Engine, badcase_id: int) -> str:
    with read_session(engine) as s:
        b = s.get(Badcase, badcase_id)
        assert b is not None
        return b.status


def test_queue_order_decisions_skip_and_undo(engine: Engine, queue: dict[str, int]) -> None:
    e1 = queue["e1"]
    first = next_item(engine, e1, 1)
    assert first is not None and first.rank == 1 and first.position == 1 and first.of == 4
    decide(engine, e1, first.variant_id, "approve", score=4, seconds=2.5)
    second = next_item(engine, e1, 1)
    assert second is not None and second.badcase_id == first.badcase_id and second.rank == 2
    decide(engine, e1, second.variant_id, "skip")
    third = next_item(engine, e1, 1)
    assert third is not None and third.rank == 3  # the skipped one waits at the end
    undone = undo_last(engine, e1)
    assert undone is not None and undone.variant_id == second.variant_id  # undoing the skip brings it back first
    assert next_item(engine, e1, 1).variant_id == second.variant_id  # type: ignore[union-attr]
    decide(engine, e1, second.variant_id, "reject", reason="wording changes the meaning", score=1)
    with read_session(engine) as s:
        reviews = s.scalars(select(Review).order_by(Review.id)).all()
        assert [(r.decision, r.undone_at is not None) for r in reviews] == [
            ("approve", False),
            ("skip", True),
            ("reject", False),
        ]  # undo marks, never deletes
        assert reviews[0].seconds == 2.5 and reviews[2].reason == "wording changes the meaning"
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("review.%"))) == 4
    p = progress(engine, e1, 1)
    assert (p.variants, p.decided, p.mine) == (12, 2, 2)


def _votes(engine: Engine, reviewer: int, badcase_id: int) -> dict[int, tuple[str, int | None, bool, str | None]]:
    """variant → (decision, score, best, reason) of the reviewer's active votes on the badcase."""
    with read_session(engine) as s:
        rows = s.scalars(
            select(Review).where(
                Review.badcase_id == badcase_id, Review.reviewer_id == reviewer, Review.undone_at.is_(None)
            )
        ).all()
        return {r.variant_id: (r.decision, r.score, r.best, r.reason) for r in rows}


def test_undo_goes_back_one_step_restoring_what_each_decision_replaced(engine: Engine, queue: dict[str, int]) -> None:
    e1 = queue["e1"]
    first = next_item(engine, e1, 1)
    assert first is not None
    with read_session(engine) as s:
        v1, v2, v3, v4 = s.scalars(
            select(Variant.id).where(Variant.badcase_id == first.badcase_id).order_by(Variant.rank)
        ).all()
    bid = first.badcase_id
    # A, A, X, then best on the rejected one (it replaces the reject), then U: the reject is back, reason and all.
    decide(engine, e1, v1, "approve", score=4)
    decide(engine, e1, v2, "approve")
    decide(engine, e1, v3, "reject", score=2, reason="changes the dose")
    decide(engine, e1, v3, "approve", best=True)
    assert _votes(engine, e1, bid)[v3] == ("approve", None, True, None)
    undone = undo_last(engine, e1)
    assert undone is not None and (undone.variant_id, undone.decision, undone.restored) == (v3, "best", "reject")
    assert undone.restored_score == 2
    assert _votes(engine, e1, bid) == {
        v1: ("approve", 4, False, None),
        v2: ("approve", None, False, None),
        v3: ("reject", 2, False, "changes the dose"),
    }
    # A best pick moved to another variant: undo gives the best back to the first pick.
    decide(engine, e1, v1, "approve", best=True, score=5)
    decide(engine, e1, v4, "approve", best=True)
    assert [v for v, vote in _votes(engine, e1, bid).items() if vote[2]] == [v4]
    undone = undo_last(engine, e1)
    assert undone is not None and (undone.variant_id, undone.restored) == (v4, None)
    assert _votes(engine, e1, bid)[v1] == ("approve", 5, True, None) and v4 not in _votes(engine, e1, bid)
    # Back further, one step at a time: v1's best goes, then its approve with 4 is back; then v3's reject goes.
    assert undo_last(engine, e1).restored == "approve"  # type: ignore[union-attr]
    assert _votes(engine, e1, bid)[v1] == ("approve", 4, False, None)
    undone = undo_last(engine, e1)
    assert undone is not None and (undone.variant_id, undone.restored) == (v3, None) and undone.score == 2
    assert undo_last(engine, e1).variant_id == v2  # type: ignore[union-attr]
    assert undo_last(engine, e1).variant_id == v1  # type: ignore[union-attr]
    assert undo_last(engine, e1) is None and _votes(engine, e1, bid) == {}
    with read_session(engine) as s:
        undos = s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "review.undo")).all()
        assert sum("restores" in (d or {}) for d in undos) == 2  # each putting-back audited


def test_marking_a_best_finishes_the_badcase_and_selects_it(engine: Engine, queue: dict[str, int]) -> None:
    e1 = queue["e1"]
    first = next_item(engine, e1, 1)
    assert first is not None
    decide(engine, e1, first.variant_id, "approve", best=True, score=5)
    assert _badcase_status(engine, first.badcase_id) == "decided"
    following = next_item(engine, e1, 1)
    assert following is not None and following.badcase_id != first.badcase_id
    with read_session(engine) as s:
        sel = s.get(Selection, first.badcase_id)
        assert sel is not None and sel.variant_id == first.variant_id and sel.method == "majority"
        assert first.variant_id in approved_variant_ids(s, 1)
    undo_last(engine, e1)
    assert _badcase_status(engine, first.badcase_id) == "open"
    with read_session(engine) as s:
        assert s.get(Selection, first.badcase_id) is None


def test_two_reviews_required_majority_tie_and_settlement(engine: Engine, queue: dict[str, int]) -> None:
    e1, e2, e3 = queue["e1"], queue["e2"], queue["e3"]
    item1 = next_item(engine, e1, 1)
    assert item1 is not None
    with read_session(engine) as s:
        siblings = list(
            s.scalars(select(Variant.id).where(Variant.badcase_id == item1.badcase_id).order_by(Variant.rank))
        )
    decide(engine, e1, siblings[0], "approve", best=True, required=2)
    assert _badcase_status(engine, item1.badcase_id) == "in_review"  # one of two reviews
    decide(engine, e2, siblings[1], "approve", best=True, required=2)
    assert _badcase_status(engine, item1.badcase_id) == "settle"  # 1–1: a tie goes to an engineer
    assert agreement(engine, 1).to_settle == [(item1.badcase_id, item1.case_id)]
    # A third expert breaks the tie by majority.
    decide(engine, e3, siblings[1], "approve", best=True, required=2)
    assert _badcase_status(engine, item1.badcase_id) == "decided"
    with read_session(engine) as s:
        assert s.get(Selection, item1.badcase_id).variant_id == siblings[1]  # type: ignore[union-attr]
    # An engineer's settlement stands over later votes.
    settle(engine, "eng", item1.badcase_id, siblings[2])
    decide(engine, e1, siblings[3], "reject", required=2)
    with read_session(engine) as s:
        sel = s.get(Selection, item1.badcase_id)
        assert sel is not None and sel.variant_id == siblings[2] and sel.method == "engineer"
    a = agreement(engine, 1)
    assert a.per_badcase == [(item1.case_id, 3, pytest.approx(1 / 3))]  # e1 ≠ e2, e1 ≠ e3, e2 = e3
    assert a.overall == pytest.approx(1 / 3)


def test_eight_concurrent_reviewers_lose_no_decision(engine: Engine, queue: dict[str, int]) -> None:
    reviewers = []
    for i in range(8):
        add_user(engine, f"c{i}", "expert", "password123", "t")
    with read_session(engine) as s:
        from db.models import User

        reviewers = list(s.scalars(select(User.id).where(User.name.like("c%"))))
        variants = list(s.scalars(select(Variant.id)))
    errors: list[BaseException] = []

    def work(uid: int) -> None:
        try:
            for vid in variants:  # everyone decides every variant: 8 × 12 writes on the same rows
                decide(engine, uid, vid, "approve" if (uid + vid) % 3 else "reject", score=3, required=8)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(uid,)) for uid in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 8 * len(variants)


def test_experts_finishing_badcases_at_once_decide_each(engine: Engine, queue: dict[str, int]) -> None:
    """Six experts pick the same best variant of a badcase at the same moment, six required: the last to commit
    must count the other five. On PostgreSQL the badcase's row lock makes them queue (without it each one
    counted the picks committed before it started, and the badcase stayed in review or two wrote a selection)."""
    for i in range(6):
        add_user(engine, f"p{i}", "expert", "password123", "t")
    with read_session(engine) as s:
        from db.models import User

        experts = list(s.scalars(select(User.id).where(User.name.like("p%"))))
        best = dict(s.execute(select(Variant.badcase_id, func.min(Variant.id)).group_by(Variant.badcase_id)).all())
    errors: list[BaseException] = []
    together = threading.Barrier(len(experts))

    def work(uid: int) -> None:
        try:
            for variant_id in best.values():
                together.wait()
                decide(engine, uid, variant_id, "approve", best=True, required=len(experts))
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(uid,)) for uid in experts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with read_session(engine) as s:
        for badcase_id, variant_id in best.items():
            assert s.get(Badcase, badcase_id).status == "decided"  # type: ignore[union-attr]
            assert s.get(Selection, badcase_id).variant_id == variant_id  # type: ignore[union-attr]


def _active_rows(engine: Engine, variant_id: int, reviewer_id: int) -> list[Review]:
    with read_session(engine) as s:
        return list(
            s.scalars(
                select(Review).where(
                    Review.variant_id == variant_id, Review.reviewer_id == reviewer_id, Review.undone_at.is_(None)
                )
            )
        )


def test_a_second_decision_replaces_the_first_and_is_audited(engine: Engine, queue: dict[str, int]) -> None:
    """Two tabs of one expert: approve twice, then reject — one active vote, the replacements in the audit log."""
    e1, e2 = queue["e1"], queue["e2"]
    first = next_item(engine, e1, 1)
    assert first is not None
    decide(engine, e1, first.variant_id, "approve")
    decide(engine, e1, first.variant_id, "approve")  # the stale second tab
    decide(engine, e2, first.variant_id, "reject")
    active = _active_rows(engine, first.variant_id, e1)
    assert [r.decision for r in active] == ["approve"]
    with read_session(engine) as s:
        # e1 approves once, e2 rejects: 1–1 is a tie, not an approval by majority.
        assert first.variant_id not in approved_variant_ids(s, 1)
        replaced = s.scalars(select(AuditEntry).where(AuditEntry.action == "review.approve").order_by(AuditEntry.id))
        details = [a.detail for a in replaced]
        assert "replaces" not in details[0] and details[1]["replaces"][0]["decision"] == "approve"
    decide(engine, e1, first.variant_id, "reject", reason="changes the meaning")
    assert [(r.decision, r.reason) for r in _active_rows(engine, first.variant_id, e1)] == [
        ("reject", "changes the meaning")
    ]  # never approve and reject active at once


def test_the_database_refuses_a_second_active_vote(engine: Engine, queue: dict[str, int]) -> None:
    """The partial unique index, below the code: a raw second active row fails; an undone one is allowed."""
    from sqlalchemy.exc import IntegrityError

    from db.engine import write_session

    e1 = queue["e1"]
    first = next_item(engine, e1, 1)
    assert first is not None
    decide(engine, e1, first.variant_id, "approve")
    row = {"variant_id": first.variant_id, "badcase_id": first.badcase_id, "reviewer_id": e1, "decision": "reject"}
    with pytest.raises(IntegrityError, match="(?i)unique"):  # SQLite and PostgreSQL word it differently
        with write_session(engine) as s:
            s.add(Review(**row))
    from db.base import utcnow

    with write_session(engine) as s:
        s.add(Review(**row, undone_at=utcnow()))  # history rows are not votes
    assert len(_active_rows(engine, first.variant_id, e1)) == 1


def test_a_round_that_left_review_refuses_decisions(engine: Engine, queue: dict[str, int]) -> None:
    from pipeline.review.queue import RoundClosed
    from pipeline.rounds.lifecycle import set_stage

    e1 = queue["e1"]
    first = next_item(engine, e1, 1)
    assert first is not None
    decide(engine, e1, first.variant_id, "approve", best=True)
    set_stage(engine, 1, "augmenting")
    with pytest.raises(RoundClosed, match="round 1 has left review"):
        decide(engine, e1, first.variant_id, "reject")
    with pytest.raises(RoundClosed):
        undo_last(engine, e1)
    with read_session(engine) as s:
        sel = s.get(Selection, first.badcase_id)
        assert sel is not None and sel.variant_id == first.variant_id  # the finished round's selection stands
        assert s.scalar(select(func.count()).select_from(Review)) == 1
