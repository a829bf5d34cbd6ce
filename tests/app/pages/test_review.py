"""The Review page's variant board, rendered by Streamlit's AppTest on a real database the test builds
(3 badcases × 4 variants that passed the filters; the ``queue`` fixture of tests/conftest.py).

AppTest runs no JavaScript: :class:`Client` stands in for app/board_component/board.js, sending the board's
actions (each keyed by its variant's id, numbered in order) as the component's state, as the browser does. What
the browser itself does (focus, the reading pane, keys) is walked in chromium by tests/app/test_browser.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
import streamlit as st
from sqlalchemy import Engine, select
from streamlit.proto.WidgetStates_pb2 import WidgetState
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


class Client:
    """The browser's side of the board: the data the page sent, and actions sent back with a clock."""

    def __init__(self, at: AppTest) -> None:
        self.at = at
        self.seq = 0
        self.pending: list[dict[str, Any]] = []
        self.clock = 1000.0
        self.acts: list[float] = []

    def _element(self) -> Any:
        return next(n for n in self.at._tree if getattr(n, "type", None) == "bidi_component")

    def data(self) -> dict[str, Any]:
        proto = self._element().proto
        data: dict[str, Any] = json.loads(proto.mixed.json if proto.HasField("mixed") else proto.json)
        return data

    def cards(self) -> list[dict[str, Any]]:
        return list(self.data()["cards"])

    def key(self, seconds: float = 0.0) -> None:
        """A key or click that sends nothing (J/K, a score), ``seconds`` after the one before."""
        self.clock += seconds
        self.acts.append(self.clock)

    def send(self, seconds: float = 0.0, **action: Any) -> None:
        data = self.data()
        self.pending = [a for a in self.pending if a["seq"] > data["acked"]]
        self.key(seconds)
        self.seq += 1
        mark = {"session": data["session"], "seq": self.seq, "at": self.clock, "opened": 1000.0, "acts": self.acts}
        self.pending.append({**action, **mark})
        self.acts = []
        self.post(self.pending)

    def post(self, actions: list[dict[str, Any]]) -> None:
        """One run with ``actions`` as the component's state, as the browser sends it."""
        states = self.at._tree.get_widget_states()
        states.widgets.append(WidgetState(id=self._element().proto.id, json_value=json.dumps({"actions": actions})))
        self.at._run(states)
        assert not self.at.exception, self.at.exception

    def decide(self, number: int, decision: str, best: bool = False, score: int | None = None, **kw: Any) -> None:
        card = next(c for c in self.cards() if c["number"] == number)
        self.send(kind="decide", variant=card["id"], decision=decision, best=best, score=score, **kw)


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
    client = Client(at)
    cards = client.cards()
    assert len(cards) == 4  # the whole badcase at once, in the filter chain's order
    assert all(c["diffs"] or c["summary"] == "no section changed" for c in cards)  # the pane's diff travels along
    first, second, third, fourth = (c["number"] for c in cards)
    board = client.data()
    assert board["gold"][0][2] is True and board["gold"][0][1]  # the principal code first, with its name

    client.decide(second, "approve", score=4)  # J, 4, A
    assert [(d, s, b) for _v, d, s, b, _r in _mine(engine, uid)] == [("approve", 4, False)]
    assert any(f"approve: Variant {second}" in shown(c.value) for c in at.caption)
    # A typed reason (T, the text, Enter): a reject with that reason, on the variant the box was opened for.
    client.decide(third, "reject", text="changes the site of the infarct")
    assert _mine(engine, uid)[-1][1:] == ("reject", None, False, "changes the site of the infarct")
    mine = {c["number"]: c["mine"] for c in client.cards()}
    assert mine[third] == {
        "decision": "reject",
        "score": None,
        "best": False,
        "text": "changes the site of the infarct",
        "reason": True,
    }

    client.decide(second, "approve", best=True, score=4)  # K, K, B: the best
    assert any(f"best picked: Variant {second}; 2 variants left undecided" in shown(s.value) for s in at.success)
    client.send(kind="rest", badcase=board["badcase"], decision="reject")  # Shift+X
    assert any(f"best picked: Variant {second}; every variant decided" in shown(s.value) for s in at.success)
    decisions = _mine(engine, uid)
    assert sorted(d for _v, d, _s, _b, _r in decisions) == ["approve", "reject", "reject", "reject"]
    assert [b for _v, _d, _s, b, _r in decisions].count(True) == 1
    assert {first, fourth} == {
        n
        for n, m in ((c["number"], c["mine"]) for c in client.cards())
        if m["reason"] is False and m["decision"] == "reject"
    }

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
    client.send(kind="next", badcase=board["badcase"])  # N
    assert client.data()["badcase"] != board["badcase"] and len(client.cards()) == 4
    reopen = next(b for b in at.button if b.key and b.key.startswith("board_history_") and "reject" in b.label)
    reopen.click().run()
    assert any("every variant decided" in shown(s.value) for s in at.success)  # the first badcase is back
    assert client.data()["focus"] == _mine(engine, uid)[-1][0]  # on the reopened variant
    client.send(kind="decide", variant=client.data()["focus"], decision="approve", best=False, score=None)
    assert len(_mine(engine, uid)) == 4 and sorted(d for _v, d, *_ in _mine(engine, uid)).count("approve") == 2


def test_actions_apply_once_in_order_whatever_the_runs(
    engine: Engine,
    db_url: str,
    queue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Keys faster than the runs: the browser sends every action not yet acknowledged, so one run gets two (X on
    one variant, then a reason and Ctrl+Enter on the next) and a later run gets them again; each lands once, on
    its own variant."""
    uid = queue["e1"]
    at = _page(db_url, monkeypatch, uid, "e1")
    client = Client(at)
    one, two = client.cards()[:2]
    sent = [
        {"kind": "decide", "variant": one["id"], "decision": "reject", "best": False, "score": 3, "text": None},
        {"kind": "decide", "variant": two["id"], "decision": "approve", "best": False, "text": "same meaning"},
        {"kind": "undo"},
    ]
    for seq, action in enumerate(sent, 1):
        action.update(session=client.data()["session"], seq=seq, at=1000.0 + seq, opened=1000.0, acts=[1000.0 + seq])
    client.post(sent[:2])  # X, then the reason and Ctrl+Enter: one run, two actions
    client.post(sent)  # U, sent before that run's acknowledgement came back: the first two come again
    with read_session(engine) as s:
        rows = s.scalars(select(Review).where(Review.reviewer_id == uid).order_by(Review.id)).all()
        assert [(r.variant_id, r.decision, r.score, r.comment, r.undone_at is None) for r in rows] == [
            (one["id"], "reject", 3, None, True),
            (two["id"], "approve", None, "same meaning", False),  # undone by the third action, once
        ]
    assert client.data()["acked"] == 3


def test_the_browsers_word_is_checked_session_variant_and_clock(
    engine: Engine,
    db_url: str,
    queue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The actions come from the browser: another session's are never applied, a variant the board does not show
    is refused, a time that is not one is refused, and a duration counts at most as long as the board was open."""
    from db.engine import write_session
    from db.models import Variant

    uid = queue["e1"]
    at = _page(db_url, monkeypatch, uid, "e1")
    client = Client(at)
    one, two, three = client.cards()[:3]
    own = {"session": client.data()["session"], "opened": 1000.0, "acts": []}
    approve = {"kind": "decide", "decision": "approve", "best": False, "score": None, "text": None}
    # Another session's unconfirmed action (a reconnect, another account in this tab): neither applied nor counted.
    client.post([{**approve, **own, "session": "other", "variant": one["id"], "seq": 1, "at": 1001.0}])
    assert _mine(engine, uid) == [] and client.data()["acked"] == 0
    # A variant this board does not show (filtered out, with the filtered-out ones hidden).
    with write_session(engine) as s:
        s.get(Variant, three["id"]).passed = False
    client.post([{**approve, **own, "variant": three["id"], "seq": 1, "at": 1001.0}])
    assert _mine(engine, uid) == [] and client.data()["acked"] == 1
    assert any(f"variant {three['id']} is not on its badcase's board" in shown(c.value) for c in at.caption)
    # Not a time.
    client.post([{**approve, **own, "variant": one["id"], "seq": 2, "at": "NaN"}])
    assert _mine(engine, uid) == [] and any("not a time" in shown(c.value) for c in at.caption)
    # A decision "a day" after the board opened, with a key every minute of it: as long as the board was open.
    acts = [1000.0 + 60 * i for i in range(1, 1441)]
    client.post([{**approve, **own, "variant": two["id"], "seq": 3, "at": 1000.0 + 86_400, "acts": acts}])
    with read_session(engine) as s:
        review = s.scalars(select(Review).where(Review.reviewer_id == uid)).one()
    assert review.variant_id == two["id"]
    assert review.seconds is not None and 0 <= review.seconds <= 120, review.seconds
    assert review.active_seconds is not None and 0 <= review.active_seconds <= review.seconds, review.active_seconds


def test_a_stale_board_on_a_round_that_left_review_is_refused_and_moves_on(
    engine: Engine,
    db_url: str,
    queue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uid = queue["e1"]
    at = _page(db_url, monkeypatch, uid, "e1")
    client = Client(at)
    set_stage(engine, 1, "augmenting")  # the engineer moved on while this tab was open
    client.decide(client.cards()[0]["number"], "approve")
    assert _mine(engine, uid) == []
    assert any("Not saved: round 1 has left review" in shown(c.value) for c in at.caption)
    assert any("Round 1 has left review" in shown(w.value) for w in at.warning)
    assert not any(getattr(n, "type", None) == "bidi_component" for n in at._tree)


def test_an_account_disabled_while_the_board_is_open_saves_nothing(
    engine: Engine,
    db_url: str,
    queue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The board's actions rerun only its fragment, not the page that checks the session: the board checks it."""
    from pipeline.accounts.users import set_active

    uid = queue["e1"]
    at = _page(db_url, monkeypatch, uid, "e1")
    client = Client(at)
    set_active(engine, "e1", False, "admin")
    client.decide(client.cards()[0]["number"], "approve")
    assert _mine(engine, uid) == []
    assert "user_id" not in at.session_state  # signed out: the next run shows the sign-in


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
    client = Client(at)
    focused = client.cards()[0]["number"]
    assert any("0 of 4 variants decided by you" in shown(h.value) for h in at.subheader)
    client.decide(focused, "approve", best=True, score=5)  # 5, B, U, B: the score typed before the undone best …
    assert any("1 of 4 variants decided by you" in shown(h.value) for h in at.subheader)
    client.send(kind="undo")
    assert _mine(engine, uid) == []
    assert any(f"undone: Variant {focused} best · score 5 → undecided" in shown(c.value) for c in at.caption)
    assert client.data()["scores"] == {str(client.cards()[0]["id"]): 5}  # … waits on its card for the next one
    client.decide(focused, "approve", best=True)  # what board.js sends: the score it shows (none typed: 5 carried)
    assert [(d, score, best) for _v, d, score, best, _r in _mine(engine, uid)] == [("approve", 5, True)]
    # X on it, then U: back to the best with its score, not to nothing
    client.decide(focused, "reject", score=5)
    client.send(kind="undo")
    assert [(d, score, best) for _v, d, score, best, _r in _mine(engine, uid)] == [("approve", 5, True)]
    assert any(f"undone: Variant {focused} reject · score 5 → best · score 5" in shown(c.value) for c in at.caption)


def test_active_time_leaves_out_gaps_of_over_a_minute(
    engine: Engine,
    db_url: str,
    queue: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The browser's clock runs ten minutes ahead here, faster than this session's: the server's bound on it is
    # test_the_browsers_word_is_checked_session_variant_and_clock's matter.
    monkeypatch.setattr("app.review_board.CLOCK_SLACK_SECONDS", 3600.0)
    uid = queue["e1"]
    at = _page(db_url, monkeypatch, uid, "e1")  # the board opens at 1000 (the browser's clock)
    client = Client(at)
    one, two = client.cards()[:2]
    client.key(12.0)  # J
    client.send(8.0, kind="decide", variant=one["id"], decision="approve", best=False, score=None)
    client.key(600.0)  # J, after ten minutes away
    client.send(5.0, kind="decide", variant=two["id"], decision="reject", best=False, score=None)
    with read_session(engine) as s:
        rows = s.scalars(select(Review).where(Review.reviewer_id == uid).order_by(Review.id)).all()
        # 12 + 8 s on the first; the 600 s away before the second left out, its 5 s counted
        assert [(r.active_seconds, r.seconds) for r in rows] == [(20.0, 20.0), (5.0, 605.0)]
