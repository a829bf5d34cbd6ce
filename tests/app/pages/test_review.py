"""The Review page's variant board, rendered by Streamlit's AppTest on a real database the test builds
(3 badcases × 4 variants that passed the filters; the ``queue`` fixture of tests/conftest.py)."""

from __future__ import annotations

import pytest
import streamlit as st
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from db.engine import read_session
from db.models import Review
from pipeline.rounds.lifecycle import set_stage
from tests.helpers import ROOT, shown


def _page(db_url: str, monkeypatch: pytest.MonkeyPatch, uid: int, name: str) -> AppTest:
    monkeypatch.setenv("SRADIT_DB_URL", db_url)
    st.cache_resource.clear()  # the engine is cached per process: this test's database, not an earlier one's
    at = AppTest.from_file(str(ROOT / "app" / "pages" / "review.py"), default_timeout=60)
    for key, value in {"user_id": uid, "user_name": name, "user_role": "expert"}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _cards(at: AppTest) -> dict[str, str]:
    """Variant N → the type of its card's button (primary: the focused card)."""
    return {b.label: b.proto.type for b in at.button if b.key and b.key.startswith("board_focus_")}


def _click(at: AppTest, key: str) -> None:
    at.button(key=key).click().run()
    assert not at.exception, at.exception


def _mine(engine: Engine, uid: int) -> list[tuple[int, str, int | None, bool, str | None]]:
    with read_session(engine) as s:
        rows = s.scalars(
            select(Review).where(Review.reviewer_id == uid, Review.undone_at.is_(None)).order_by(Review.id)
        )
        return [(r.variant_id, r.decision, r.score, r.best, r.reason) for r in rows]


def test_the_board_decides_a_badcase_from_one_screen(
    engine: Engine,
    db_url: str,
    queue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uid = queue["e1"]
    at = _page(db_url, monkeypatch, uid, "e1")
    cards = _cards(at)
    assert sorted(cards) == ["Variant 1", "Variant 2", "Variant 3", "Variant 4"]  # the whole badcase at once
    assert list(cards.values()).count("primary") == 1
    first = next(label for label, kind in cards.items() if kind == "primary")
    assert at.button(key="board_focus_" + first.split()[1]) is not None
    assert list(cards)[0] == first  # the first ranked variant has focus

    _click(at, "board_next")  # J
    second = next(label for label, kind in _cards(at).items() if kind == "primary")
    assert second == list(cards)[1]
    _click(at, "board_score_4")  # 4
    _click(at, "board_approve")  # A
    assert [(d, s, b) for _v, d, s, b, _r in _mine(engine, uid)] == [("approve", 4, False)]
    third = next(label for label, kind in _cards(at).items() if kind == "primary")
    assert third == list(cards)[2]  # on to the next undecided variant

    # A typed reason, committed by the form (Enter in the browser): a reject with that reason.
    at.text_input(key="board_text").input("changes the site of the infarct")
    next(b for b in at.button if b.label == "Reject with reason (Enter)").click().run()
    assert not at.exception, at.exception
    assert _mine(engine, uid)[-1][1:] == ("reject", None, False, "changes the site of the infarct")
    assert at.text_input(key="board_text").value == ""  # cleared for the next one

    assert next(label for label, kind in _cards(at).items() if kind == "primary") == list(cards)[3]
    _click(at, "board_prev")  # K, K: back to the approved one …
    _click(at, "board_prev")
    _click(at, "board_best")  # … B: the best
    assert any(f"best picked: {second}; 2 variants left undecided" in shown(s.value) for s in at.success)
    _click(at, "board_reject_rest")  # Shift+X
    assert any(f"best picked: {second}; every variant decided" in shown(s.value) for s in at.success)
    decisions = _mine(engine, uid)
    assert sorted(d for _v, d, _s, _b, _r in decisions) == ["approve", "reject", "reject", "reject"]
    assert [b for _v, _d, _s, b, _r in decisions].count(True) == 1

    # History: every decision of the session beside the board, decision first, each reopening its variant; the
    # approve that the best replaced is listed too, marked undone.
    history = [b for b in at.button if b.key and b.key.startswith("board_history_")]
    assert [shown(b.label).split(" — ")[0] for b in history] == [
        "reject",
        "reject",
        "best · 4",
        "reject",
        "approve · 4 (undone)",
    ]
    assert all("Variant" in b.label for b in history)
    assert "changes the site of the infarct" in history[3].help  # the reason: in full, in the tooltip
    _click(at, "board_next_badcase")  # N
    assert set(_cards(at)) == {"Variant 1", "Variant 2", "Variant 3", "Variant 4"}
    reopen = next(b for b in at.button if b.key and b.key.startswith("board_history_") and "reject" in b.label)
    reopen.click().run()
    assert any("every variant decided" in shown(s.value) for s in at.success)  # the first badcase is back
    _click(at, "board_approve")  # the reopened reject becomes an approve: still one vote per variant
    assert len(_mine(engine, uid)) == 4 and sorted(d for _v, d, *_ in _mine(engine, uid)).count("approve") == 2


def test_a_stale_board_on_a_round_that_left_review_is_refused_and_moves_on(
    engine: Engine,
    db_url: str,
    queue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uid = queue["e1"]
    at = _page(db_url, monkeypatch, uid, "e1")
    set_stage(engine, 1, "augmenting")  # the engineer moved on while this tab was open
    _click(at, "board_approve")
    assert _mine(engine, uid) == []
    assert any("Not saved: round 1 has left review" in shown(c.value) for c in at.caption)
    assert any("Round 1 has left review" in shown(w.value) for w in at.warning)
    assert _cards(at) == {}


def test_the_one_at_a_time_view_stays_as_an_option(
    engine: Engine,
    db_url: str,
    queue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = _page(db_url, monkeypatch, queue["e1"], "e1")
    at.toggle(key="review_single").set_value(True).run()
    assert not at.exception, at.exception
    assert "Variant" in shown(at.subheader[0].value) and [b.label for b in at.button][:5] == [
        "★" * k for k in range(1, 6)
    ]
    _click(at, "approve")
    assert any("approve: Variant" in shown(c.value) for c in at.caption)


def test_undo_steps_back_and_a_typed_score_survives_it(
    engine: Engine,
    db_url: str,
    queue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uid = queue["e1"]
    at = _page(db_url, monkeypatch, uid, "e1")
    focused = next(label for label, kind in _cards(at).items() if kind == "primary")
    assert any("0 of 4 variants decided by you" in shown(h.value) for h in at.subheader)
    _click(at, "board_score_5")  # 5, B, U, B: the score typed before the undone best goes with the next one
    _click(at, "board_best")
    assert any("1 of 4 variants decided by you" in shown(h.value) for h in at.subheader)
    _click(at, "board_undo")
    assert _mine(engine, uid) == []
    assert any(f"undone: {focused} best · score 5 → undecided" in shown(c.value) for c in at.caption)
    _click(at, "board_best")
    assert [(d, score, best) for _v, d, score, best, _r in _mine(engine, uid)] == [("approve", 5, True)]
    # X on it, then U: back to the best with its score, not to nothing
    _click(at, "board_reject")
    _click(at, "board_undo")
    assert [(d, score, best) for _v, d, score, best, _r in _mine(engine, uid)] == [("approve", 5, True)]
    assert any(f"undone: {focused} reject · score 5 → best · score 5" in shown(c.value) for c in at.caption)


def test_active_time_leaves_out_gaps_of_over_a_minute(
    engine: Engine,
    db_url: str,
    queue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    import app.review_board

    clock = [1000.0]
    monkeypatch.setattr(app.review_board, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    uid = queue["e1"]
    at = _page(db_url, monkeypatch, uid, "e1")  # the board opens at 1000
    for seconds, key in ((12.0, "board_next"), (8.0, "board_approve"), (600.0, "board_next"), (5.0, "board_reject")):
        clock[0] += seconds
        _click(at, key)
    with read_session(engine) as s:
        rows = s.scalars(select(Review).where(Review.reviewer_id == uid).order_by(Review.id)).all()
        # 12 + 8 s on the first; the 600 s away before the second left out, its 5 s counted
        assert [(r.active_seconds, r.seconds) for r in rows] == [(20.0, 20.0), (5.0, 605.0)]
