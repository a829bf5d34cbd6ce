"""The variant board on a real database: one screen per badcase, numbering, rest-decisions, history, timing."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from db.engine import read_session, write_session
from db.models import Assignment, Badcase, Record, Review, Round, Variant
from pipeline.errors import InputError
from pipeline.review.agreement import agreement_stats
from pipeline.review.assignments import assign, assigned_counts
from pipeline.review.board import (
    Only,
    decide_rest,
    expert_minutes_per_badcase,
    find_badcase,
    history,
    load_board,
    locate,
    next_badcase,
)
from pipeline.review.queue import decide, undo_last
from pipeline.rounds.dashboard import round_rows


def test_the_board_shows_every_variant_ranked_and_numbered_from_one(
    engine: Engine,
    queue: dict[str, int],
) -> None:
    e1 = queue["e1"]
    bid = next_badcase(engine, e1, 1)
    assert bid is not None
    board = load_board(engine, e1, bid)
    assert len(board.cards) == 4 and [c.rank for c in board.cards] == [1, 2, 3, 4]
    with read_session(engine) as s:
        seqs = dict(s.execute(select(Variant.id, Variant.seq).where(Variant.badcase_id == bid)).all())
    assert all(c.number == seqs[c.variant_id] + 1 for c in board.cards)  # one number: within the badcase, from 1
    assert sorted(c.number for c in board.cards) == [1, 2, 3, 4]
    assert locate(engine, board.cards[0].variant_id) == (bid, board.cards[0].number)
    assert all(c.summary and c.mine is None and c.changed for c in board.cards)
    assert board.notice() is None and not board.finished


def test_best_then_reject_the_rest_finishes_the_badcase(engine: Engine, queue: dict[str, int]) -> None:
    e1, e2 = queue["e1"], queue["e2"]
    bid = next_badcase(engine, e1, 1)
    assert bid is not None
    board = load_board(engine, e1, bid)
    best = board.cards[1]
    decide(engine, e1, best.variant_id, "approve", best=True, board_seconds=90.0, required=2)
    board = load_board(engine, e1, bid)
    assert board.notice() == f"best picked: Variant {best.number}; 3 variants left undecided"
    assert next_badcase(engine, e1, 1) != bid  # finished for e1 …
    assert next_badcase(engine, e2, 1) == bid  # … not for e2: two reviews are required
    assert decide_rest(engine, e1, board, "reject", seconds=1.0, required=2) == 3
    board = load_board(engine, e1, bid)
    assert board.notice() == f"best picked: Variant {best.number}; every variant decided"
    assert [(c.approvals, c.rejections, c.best_votes) for c in board.cards] == [
        (0, 1, 0),
        (1, 0, 1),
        (0, 1, 0),
        (0, 1, 0),
    ]
    assert decide_rest(engine, e1, board, "reject") == 0  # nothing left: no empty transaction, no row
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 4


def test_history_reopens_and_a_changed_decision_replaces_the_vote(
    engine: Engine,
    queue: dict[str, int],
) -> None:
    e1 = queue["e1"]
    bid = next_badcase(engine, e1, 1)
    assert bid is not None
    cards = load_board(engine, e1, bid).cards
    decide(engine, e1, cards[0].variant_id, "reject", reason="wrong site")
    decide(engine, e1, cards[1].variant_id, "approve", score=4)
    rows = history(engine, e1, 1)
    assert [(r.number, r.decision, r.score) for r in rows] == [
        (cards[1].number, "approve", 4),
        (cards[0].number, "reject", None),
    ]
    assert rows[1].reason == "wrong site" and rows[1].badcase_id == bid
    # Reopened from the history: the reject becomes an approve; still one vote on that variant.
    decide(engine, e1, rows[1].variant_id, "approve")
    board = load_board(engine, e1, bid)
    assert board.cards[0].mine is not None and board.cards[0].mine.decision == "approve"
    assert (board.cards[0].approvals, board.cards[0].rejections) == (1, 0)
    # every decision stays listed, the replaced one marked
    assert [(r.decision, r.undone) for r in history(engine, e1, 1)] == [
        ("approve", False),
        ("approve", False),
        ("reject", True),
    ]
    # undo goes back one step: the reject it replaced is the vote again, with its reason
    undone = undo_last(engine, e1)
    assert undone is not None and undone.variant_id == cards[0].variant_id and undone.restored == "reject"
    mine = load_board(engine, e1, bid).cards[0].mine
    assert mine is not None and (mine.decision, mine.reason) == ("reject", "wrong site")
    # the history a session shows starts after the expert's last decision before it
    since = history(engine, e1, 1)[0].review_id
    decide(engine, e1, cards[2].variant_id, "approve")
    assert [r.number for r in history(engine, e1, 1, since)] == [cards[2].number]


def test_board_time_per_badcase_reaches_the_dashboard(engine: Engine, queue: dict[str, int]) -> None:
    assert expert_minutes_per_badcase(engine, 1) is None
    for uid, secs in ((queue["e1"], 60.0), (queue["e2"], 180.0), (queue["e3"], 120.0)):
        bid = next_badcase(engine, uid, 1)
        assert bid is not None
        card = load_board(engine, uid, bid).cards[0]
        decide(engine, uid, card.variant_id, "approve", best=True, board_seconds=secs)
    assert expert_minutes_per_badcase(engine, 1) == pytest.approx(2.0)  # the median of 1, 3 and 2 minutes
    assert round_rows(engine)[0].expert_minutes_per_badcase == pytest.approx(2.0)


def test_a_flagged_badcase_leaves_the_board_until_the_flag_is_dismissed(
    engine: Engine,
    queue: dict[str, int],
) -> None:
    """Rewrites of a record whose gold codes are in question are not worth an expert's vote: the board and the
    one-at-a-time queue skip the badcase while its label issue is open, and show it again once dismissed."""
    from pipeline.review.label_issues import dismiss_label_issue, flag_label_issue
    from pipeline.review.queue import next_item

    e1 = queue["e1"]
    bid = next_badcase(engine, e1, 1)
    assert bid is not None
    board = load_board(engine, e1, bid)
    others = "I10.x00x032" if "I10.x00x032" not in board.gold_others else "E78.500"
    issue = flag_label_issue(engine, bid, board.gold_principal, others, "e1")
    assert next_badcase(engine, e1, 1) not in (bid, None)
    item = next_item(engine, e1, 1)
    assert item is not None and item.badcase_id != bid
    dismiss_label_issue(engine, issue, "engineer")
    assert next_badcase(engine, e1, 1) == bid


def test_active_time_per_badcase_sums_each_experts_decisions(engine: Engine, queue: dict[str, int]) -> None:
    e1, e2 = queue["e1"], queue["e2"]
    bid = next_badcase(engine, e1, 1)
    assert bid is not None
    cards = load_board(engine, e1, bid).cards
    decide(engine, e1, cards[0].variant_id, "reject", active_seconds=30.0)
    decide(engine, e1, cards[1].variant_id, "approve", best=True, active_seconds=40.0, board_seconds=900.0)
    decide(engine, e2, cards[2].variant_id, "approve", best=True, active_seconds=100.0)
    # e1 on the badcase: 30 + 40 s active (the board open for 900 s does not count); e2: 100 s; the median: 85 s
    assert expert_minutes_per_badcase(engine, 1) == pytest.approx(85 / 60)


def test_blind_review_hides_the_others_votes_until_the_expert_votes(engine: Engine, queue: dict[str, int]) -> None:
    e1, e2 = queue["e1"], queue["e2"]
    bid = next_badcase(engine, e1, 1)
    assert bid is not None
    first, second = load_board(engine, e1, bid).cards[:2]
    decide(engine, e1, first.variant_id, "approve", required=2)
    decide(engine, e1, second.variant_id, "reject", required=2)
    seen = load_board(engine, e2, bid)
    assert not seen.blind and (seen.cards[0].approvals, seen.cards[0].others_hidden) == (1, False)
    assert "not blind" in agreement_stats(engine, 1).votes_line()

    with write_session(engine) as s:
        rnd = s.scalar(select(Round).where(Round.number == 1))
        assert rnd is not None
        rnd.config = {**rnd.config, "blind_review": True}
    board = load_board(engine, e2, bid)
    assert board.blind
    assert [(c.approvals, c.rejections, c.best_votes, c.others_hidden) for c in board.cards[:2]] == [
        (0, 0, 0, True),
        (0, 0, 0, True),
    ]
    decide(engine, e2, first.variant_id, "reject", required=2)
    board = load_board(engine, e2, bid)
    assert (board.cards[0].approvals, board.cards[0].rejections, board.cards[0].others_hidden) == (1, 1, False)
    assert board.cards[1].others_hidden  # still hidden where e2 has not voted
    assert agreement_stats(engine, 1).blind and "were blind" in agreement_stats(engine, 1).lines()[0]


def test_the_code_filter_and_a_typed_case_id_open_the_badcases_an_expert_asks_for(
    engine: Engine, queue: dict[str, int]
) -> None:
    """The Review page's two filters on both databases: only badcases with a gold code (principal, or among the
    others, which are a JSON list), and one badcase opened by its record's 病案标识."""
    e1 = queue["e1"]
    with read_session(engine) as s:
        rows = s.execute(
            select(Badcase.id, Record.case_id, Record.principal_code, Record.other_codes)
            .join(Record, Record.id == Badcase.record_id)
            .order_by(Badcase.id)
        ).all()
    last_id, last_case, last_principal, last_others = rows[-1]
    assert next_badcase(engine, e1, 1) == rows[0][0]
    assert next_badcase(engine, e1, 1, only=Only(code=last_principal)) == min(
        r[0] for r in rows if r[2] == last_principal
    )
    other = next(c for c in last_others if all(c not in (r[3] or []) and c != r[2] for r in rows[:-1]))
    assert next_badcase(engine, e1, 1, only=Only(code=other)) == last_id  # matched among the other codes only
    assert next_badcase(engine, e1, 1, only=Only(code=other[:-1])) is None  # a whole code, not a prefix
    assert next_badcase(engine, e1, 1, only=Only(code="%")) is None  # the LIKE wildcard is a character here
    assert find_badcase(engine, 1, f" {last_case} ") == last_id
    with pytest.raises(InputError, match=r"round 1 has no badcase of record 'nobody'"):
        find_badcase(engine, 1, "nobody")


def test_badcases_dealt_to_experts_make_each_ones_assigned_queue(engine: Engine, queue: dict[str, int]) -> None:
    """3 badcases dealt to two experts, each to 2 of them: evenly (3 + 3), none twice; dealing again adds nothing,
    a third expert joining gets only what is missing; the "assigned to me" queue is theirs, and nobody else's queue
    changes. Refusals name the account."""
    e3 = queue["e3"]
    with read_session(engine) as s:
        badcases = list(s.scalars(select(Badcase.id).order_by(Badcase.id)))
    first = assign(engine, 1, ["e1", "e2"], "eng", copies=2)
    assert first.added == {"e1": 3, "e2": 3} and first.complete == 0
    assert assign(engine, 1, ["e1", "e2"], "eng", copies=2).added == {"e1": 0, "e2": 0}  # run again: nothing new
    spread = assign(engine, 1, ["e1", "e3"], "eng", copies=1)
    assert spread.added == {"e1": 0, "e3": 0} and spread.complete == 3  # e1 already holds every badcase
    assert assigned_counts(engine, 1) == {"e1": 3, "e2": 3}
    one = assign(engine, 1, ["e3", "e2"], "eng", copies=2)  # e2 holds all three: e3 gets each of them once
    assert one.added == {"e3": 3, "e2": 0}
    assert next_badcase(engine, e3, 1, only=Only(assigned=True)) == badcases[0]
    with write_session(engine) as s:
        s.query(Assignment).filter(Assignment.user_id == e3, Assignment.badcase_id == badcases[0]).delete()
    assert next_badcase(engine, e3, 1, only=Only(assigned=True)) == badcases[1]  # only their own
    assert next_badcase(engine, e3, 1) == badcases[0]  # the whole queue stays theirs to review
    assert next_badcase(engine, queue["eng"], 1, only=Only(assigned=True)) is None  # nothing dealt to eng
    with pytest.raises(InputError, match="no account named 'nobody'"):
        assign(engine, 1, ["e1", "nobody"], "eng")
    with pytest.raises(InputError, match="copies 3: each badcase goes to between 1 and 2"):
        assign(engine, 1, ["e1", "e2"], "eng", copies=3)
    with pytest.raises(InputError, match="there is no round 9|round 9"):
        assign(engine, 9, ["e1"], "eng")


def test_undo_takes_back_a_whole_reject_the_rest_then_the_step_before(engine: Engine, queue: dict[str, int]) -> None:
    """A, then Shift+X (reject the rest), then U: the rest are undecided again in one step (they were undone one
    variant per U) and the approval stays; the next U takes the approval back."""
    e1 = queue["e1"]
    bid = next_badcase(engine, e1, 1)
    assert bid is not None
    first, *rest = [c.variant_id for c in load_board(engine, e1, bid).cards]
    decide(engine, e1, first, "approve")
    assert decide_rest(engine, e1, load_board(engine, e1, bid), "reject") == len(rest)
    undone = undo_last(engine, e1)
    assert undone is not None and (undone.decision, undone.variants, undone.restored) == ("reject", len(rest), None)
    assert undone.variant_id == rest[0]  # the focus goes back to where the step began
    board = load_board(engine, e1, bid)
    assert {c.variant_id: c.mine and c.mine.decision for c in board.cards} == {first: "approve", **dict.fromkeys(rest)}
    again = undo_last(engine, e1)
    assert again is not None and (again.variant_id, again.decision, again.variants) == (first, "approve", 1)
    assert all(c.mine is None for c in load_board(engine, e1, bid).cards)
