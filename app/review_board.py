"""The Review page's variant board: a badcase's variants on one screen, keyboard-first.

The cards, the reading pane (the focused variant's diff against the original, section by section, the gold codes
with names above it) and the keys live in the browser (app/board_component/): J/K move the focus there, and a
decision shows on its card at once and reaches :func:`_apply` as an action keyed by the variant's id, applied in
the order the keys were pressed. Keys: J/K move, 1–5 score, A approve / X reject, B best, Shift+A / Shift+X
approve / reject every variant still undecided, U undo, D every section or the changed ones, N the next badcase,
T the reason box (Enter rejects with it, Ctrl+Enter approves with it as a comment, Escape leaves it). These are the
defaults: each expert can rebind them from the key sheet (``?``, app/review_keys.py; pipeline/review/keys.py).
Undo goes back one step (pipeline.review.queue).
"""

from __future__ import annotations

import math
import secrets
import time
from functools import partial
from typing import Any

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from app import board_component
from app.auth import may, refresh, signed_in, user_name
from app.inert import inert, md
from app.label_flag import flag_form
from app.review_keys import key_sheet
from pipeline.errors import InputError
from pipeline.ingest.dictionary import names_for
from pipeline.review.board import (
    EVERY,
    Board,
    Only,
    decide_rest,
    find_badcase,
    history,
    last_review_id,
    load_board,
    locate,
    next_badcase,
)
from pipeline.review.keys import key_map
from pipeline.review.queue import RoundClosed, Undone, decide, progress, round_open, undo_last

#: A clicked toggle keeps focus, and neither Streamlit's shortcuts (the one-at-a-time view) nor the board's keys act
#: while an input has focus: the toggle lets it go. Less of Streamlit's top margin: the reading pane gets the room.
KEYS_JS = """<style>[data-testid=stMainBlockContainer]{padding-top:2.5rem}</style><script>
if (!window.__sraditToggleBlur) {
  window.__sraditToggleBlur = true;
  document.addEventListener('click', () => setTimeout(() => {
    const el = document.activeElement;
    if (el && el.tagName === 'INPUT' && el.type === 'checkbox') el.blur();
  }, 50), true);
}
</script>"""

#: A gap between two of an expert's actions longer than this is time away, not time on the decision.
IDLE_GAP_SECONDS = 60.0
#: The browser's clock is the expert's (keys batched in one run keep their own times), but it is the browser's word:
#: a time it sends counts at most as long as this board session has been open by the server's clock, plus this.
CLOCK_SLACK_SECONDS = 5.0
#: Key times one action may carry (the keys since the previous action): more is not an expert's.
MAX_ACTS = 1000


def install_keys() -> None:
    """The Review page's key helper (both views)."""
    st.html(KEYS_JS, unsafe_allow_javascript=True)


def _ss() -> dict:  # type: ignore[type-arg]
    return st.session_state  # type: ignore[return-value]


def _open(badcase_id: int | None, focus_variant: int | None = None) -> None:
    ss = _ss()
    ss.update(
        board_badcase=badcase_id,
        board_focus=focus_variant,
        board_focus_token=ss.get("board_focus_token", 0) + 1,  # the browser takes this focus over its own
        board_scores={},
    )


def filter_changed() -> None:
    """The queue was narrowed or widened: the next board is the first badcase that matches."""
    _open(None)


def open_case(engine: Engine, round_no: int) -> None:
    """Open the badcase whose 病案标识 was typed in ``review_case`` (cleared after), whatever the filters say."""
    typed = str(_ss().get("review_case") or "").strip()
    if not typed:
        return
    try:
        _open(find_badcase(engine, round_no, typed))
        _ss()["board_message"] = None
    except InputError as e:
        _ss()["board_message"] = str(e)
    _ss()["review_case"] = ""


def _act(times: list[float]) -> None:
    """Count the time between the expert's actions on the board (the browser's clock: every key and click, and the
    board's opening) as active, unless a gap is over :data:`IDLE_GAP_SECONDS` (away from the desk)."""
    ss = _ss()
    for t in sorted(times):
        last = ss.get("board_acted_at")
        gap = t - last if last is not None else 0.0
        if 0.0 <= gap <= IDLE_GAP_SECONDS:
            ss["board_active"] = ss.get("board_active", 0.0) + gap
        ss["board_acted_at"] = max(t, last or t)


def _refused(e: RoundClosed) -> None:
    _ss().update(board_message=f"Not saved: {e}.", board_badcase=None)


def board_session() -> str:
    """This Streamlit session's mark on the board's actions. The browser keeps its unapplied actions on the window,
    which outlives a session (a reconnect after the server restarted, another account signed in in the same tab):
    an action carrying another session's mark is never applied here, and the browser drops those on seeing a new
    mark, so that the sequence numbers this session acknowledges are its own."""
    return str(_ss().setdefault("board_session", secrets.token_hex(8)))


def _apply(engine: Engine, uid: int, round_no: int, include_filtered: bool, required: int, only: Only) -> None:
    """The browser's actions this session has not applied yet, in the order the expert made them (each sequence
    number once: a run the browser interrupted, or one that sent the same actions again, applies nothing twice)."""
    ss = _ss()
    # The page checks the session on each run; a fragment's run skips the page, so the board checks it here: a
    # session ended or an account disabled is signed out, which clears the session's state, these actions with it.
    refresh()
    if not (signed_in() and may("review")):
        return
    for action in board_component.sent_actions():
        if action.get("session") != board_session() or action["seq"] <= ss.get("board_acked", 0):
            continue
        try:
            _one(engine, uid, round_no, include_filtered, required, only, action)
        except SQLAlchemyError:
            # Not acknowledged: the browser sends it again with the next action, and it is applied then.
            ss["board_message"] = "Not saved yet: the database was busy. It is sent again with your next key."
            return
        except RoundClosed as e:
            _refused(e)
        except (InputError, KeyError, TypeError, ValueError, OverflowError) as e:
            ss["board_message"] = f"Not saved: {e}"
        ss["board_acked"] = action["seq"]


def _seconds(value: Any, name: str) -> float:
    """A time the browser sent (seconds since the epoch): a finite number, or the action is refused."""
    seconds = float(value)
    if not math.isfinite(seconds):
        raise InputError(f"the board sent {name} {value!r}, not a time")
    return seconds


def _capped(seconds: float) -> float:
    """A duration from the browser's clock, between 0 and how long this session's board has been open."""
    opened = _ss().setdefault("board_server_opened", time.monotonic())
    return round(min(max(seconds, 0.0), time.monotonic() - opened + CLOCK_SLACK_SECONDS), 2)


def _one(
    engine: Engine, uid: int, round_no: int, include_filtered: bool, required: int, only: Only, a: dict[str, Any]
) -> None:
    opened, at = _seconds(a["opened"], "opened"), _seconds(a["at"], "at")
    _act([opened, *(_seconds(t, "a key's time") for t in (a.get("acts") or [])[-MAX_ACTS:])])
    kind = a["kind"]
    if kind == "decide":
        _decide(engine, uid, round_no, include_filtered, required, a, opened, at)
    elif kind == "rest":
        # The board as it stands now, after every earlier action: "the rest" is what is undecided at this point.
        board = _in_round(engine, uid, round_no, int(a["badcase"]), include_filtered)
        _rest(engine, uid, required, board, str(a["decision"]), opened, at)
    elif kind == "undo":
        _undo(engine, uid, required)
    elif kind == "next":
        _next(engine, uid, round_no, include_filtered, int(a["badcase"]), only)
    else:
        raise InputError(f"unknown board action {kind!r}")


def _in_round(engine: Engine, uid: int, round_no: int, badcase_id: int, include_filtered: bool) -> Board:
    """The board of ``badcase_id`` when it is a badcase of the round on this page; else InputError. The browser
    names the badcase and variant an action is for: only ones this page could have shown it are taken."""
    board = load_board(engine, uid, badcase_id, include_filtered)
    if board.round_no != round_no:
        raise InputError(f"badcase {badcase_id} is not one of round {round_no}'s")
    return board


def _since_last(opened: float, at: float) -> float:
    """Seconds since the expert's previous decision on this board (since it opened, for the first)."""
    ss = _ss()
    last = max(ss.get("board_last_at") or opened, opened)
    ss["board_last_at"] = max(at, last)
    return _capped(at - last)


def _decide(
    engine: Engine,
    uid: int,
    round_no: int,
    include_filtered: bool,
    required: int,
    a: dict[str, Any],
    opened: float,
    at: float,
) -> None:
    ss = _ss()
    vid, decision, best = int(a["variant"]), str(a["decision"]), bool(a.get("best"))
    badcase_id, number = locate(engine, vid)
    if vid not in {c.variant_id for c in _in_round(engine, uid, round_no, badcase_id, include_filtered).cards}:
        raise InputError(f"variant {vid} is not on its badcase's board")
    text = str(a.get("text") or "").strip() or None
    # The score the expert saw on the card (typed, carried over an undo, or the vote's own) goes with it.
    carried = ss.setdefault("board_scores", {}).pop(vid, None)
    score = a.get("score") or carried
    decide(
        engine,
        uid,
        vid,
        decision,
        score=int(score) if score else None,
        best=best,
        reason=text if decision == "reject" else None,
        comment=text if decision != "reject" else None,
        seconds=(seconds := _since_last(opened, at)),
        board_seconds=_capped(at - opened) if best else None,
        active_seconds=min(_capped(ss.pop("board_active", 0.0)), seconds),  # active time is part of that time
        required=required,
    )
    ss["board_message"] = f"{'best' if best else decision}: Variant {number}" + (f" — {text}" if text else "")


def _rest(engine: Engine, uid: int, required: int, board: Board, decision: str, opened: float, at: float) -> None:
    n = decide_rest(engine, uid, board, decision, seconds=_since_last(opened, at), required=required)
    _ss()["board_message"] = f"{decision} the rest: {n} variant{'s' if n != 1 else ''}"


def _undo(engine: Engine, uid: int, required: int) -> None:
    try:
        undone = undo_last(engine, uid, required)
    except RoundClosed as e:
        _refused(e)
        return
    if undone is None:
        _ss()["board_message"] = "nothing to undo"
        return
    vid = undone.variant_id
    badcase_id, number = locate(engine, vid)
    _open(badcase_id, vid)
    # Back one step: the card shows the decision the undone one had replaced; with none, the score typed for the
    # undone decision waits for the next one (5, B, U, B keeps the 5).
    if undone.restored is None and undone.score:
        _ss()["board_scores"] = {vid: undone.score}
    _ss()["board_message"] = _undo_message(number, undone)


def _undo_signed_in(engine: Engine, uid: int, required: int) -> None:
    """The finished screen's button: a callback runs before the fragment's own check of the session."""
    refresh()
    if signed_in() and may("review"):
        _undo(engine, uid, required)


def _undo_message(number: int, undone: Undone) -> str:
    def said(decision: str | None, score: int | None) -> str:
        return (decision or "undecided") + (f" · score {score}" if score else "")

    if undone.variants > 1:
        return f"undone: {undone.decision} of the rest, {undone.variants} variants back to undecided"
    back = said(undone.restored, undone.restored_score)
    return f"undone: Variant {number} {said(undone.decision, undone.score)} → {back}"


def _next(engine: Engine, uid: int, round_no: int, include_filtered: bool, badcase_id: int, only: Only) -> None:
    found = next_badcase(engine, uid, round_no, include_filtered, after=badcase_id, only=only)
    _open(found if found != badcase_id else None)
    left = "no other badcase left for you" + only.words()
    _ss()["board_message"] = None if found and found != badcase_id else left


def round_progress(engine: Engine, uid: int, round_no: int) -> None:
    """The round's progress bar, with its denominators stated (pipeline.review.queue.Progress)."""
    p = progress(engine, uid, round_no)
    st.progress(p.decided / p.variants if p.variants else 1.0, text=f"round {round_no}: {p.text()}")


@st.fragment
def draw_board(
    engine: Engine,
    uid: int,
    round_no: int,
    include_filtered: bool,
    required: int,
    only: Only = EVERY,
) -> None:
    """The round's progress and the board of the badcase open in this session (else the next one this expert has
    not finished, of those the page narrowed the queue to). A fragment: the board's actions rerun it alone, not
    the page with its sidebar; the sidebar's settings rerun the page, and the fragment with them."""
    ss = _ss()
    refresh()  # a fragment's run skips the page's check: the form and buttons below write
    if not (signed_in() and may("review")):  # ended since the page's last run: the page shows why
        st.rerun()
    round_progress(engine, uid, round_no)
    keys = key_map(engine, uid)  # read here: a rebinding saved from the key sheet reruns only the fragment
    # The history lists this browser session's decisions: those after the expert's last one before it.
    ss.setdefault("board_since", last_review_id(engine, uid))
    if not round_open(engine, round_no):
        _message()
        st.warning(md("Round {} has left review: its decisions are closed.", round_no))
        return
    if ss.get("board_badcase") is None:
        _open(next_badcase(engine, uid, round_no, include_filtered, only=only))
    if ss.get("board_badcase") is None:
        _message()
        st.success(md("Every badcase of this round{} is finished for you.", only.words()))
        st.button(
            "Undo last decision", shortcut=keys.keys["undo"], on_click=_undo_signed_in, args=(engine, uid, required)
        )
        _history(engine, uid, round_no)
        return
    board = load_board(engine, uid, ss["board_badcase"], include_filtered)
    names = names_for(engine, {board.gold_principal, *board.gold_others})
    main, side = st.columns([6, 1])
    with main:
        decided = len(board.cards) - len(board.undecided)
        st.subheader(md("{} · {} of {} variants decided by you", board.case_id, decided, len(board.cards)))
        # What comes and goes sits in one container: the board after it keeps its place in the page, so a run
        # that adds a message updates the board in place instead of drawing it anew.
        with st.container():
            _message()
            if board.notice():
                st.success(md("{}", board.notice()))
            if not board.cards:  # reopened from the history with the filtered-out variants hidden
                st.info("No variant of this badcase is in view: switch on Include filtered-out, or N for the next one.")
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption(inert(keys.line()))
            key_sheet(engine, uid, keys)
        data = board_component.board_data(
            board,
            names,
            keys,
            acked=ss.get("board_acked", 0),
            focus=ss.get("board_focus"),
            focus_token=ss.get("board_focus_token", 0),
            scores=ss.get("board_scores", {}),
            session=board_session(),
        )
        board_component.draw(data, partial(_apply, engine, uid, round_no, include_filtered, required, only))
    with side:
        _history(engine, uid, round_no)
        with st.expander("Gold codes wrong?"):
            flag_form(engine, board.badcase_id, user_name(), board.gold_principal, board.gold_others)


def _message() -> None:
    if _ss().get("board_message"):
        st.caption(inert(_ss()["board_message"]))


def _history(engine: Engine, uid: int, round_no: int) -> None:
    rows = history(engine, uid, round_no, _ss()["board_since"])
    st.markdown(md("**Your decisions this session** ({})", len(rows)))
    if not rows:
        st.caption("none yet")
        return
    # Every decision of the session, newest first, the decision leading its line so that a narrow column cuts the
    # record id, never the decision; the whole entry (with the reason) is the button's tooltip.
    with st.container(height=min(420, 24 + 44 * len(rows)), border=False):
        for r in rows:
            said = r.decision + (f" · {r.score}" if r.score else "") + (" (undone)" if r.undone else "")
            entry = f"{said} — {r.case_id} · Variant {r.number}"
            st.button(
                inert(entry),
                key=f"board_history_{r.review_id}",
                on_click=_open,
                args=(r.badcase_id, r.variant_id),
                help=inert(f"{entry} · {r.at:%H:%M:%S}" + (f" · {r.reason}" if r.reason else ""))
                + " — reopen the badcase on this variant",
                type="tertiary",
                width="stretch",
            )
