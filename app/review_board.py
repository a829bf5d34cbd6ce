"""The Review page's variant board: a badcase's variants on one screen, keyboard-first.

Keys: J/K move the focus, 1–5 score it, A approve / X reject it, B best, Shift+A / Shift+X approve / reject
every variant still undecided, U undo, D its side-by-side diff, N the next badcase, T the reason box. A typed
reason is committed with Enter (reject the focused variant with it) or Ctrl+Enter (approve it, the text as a
comment); Escape leaves the box without committing. These are the defaults: each expert can rebind them from the
key sheet (``?``, app/review_keys.py; pipeline/review/keys.py). Undo goes back one step (pipeline.review.queue).
"""

from __future__ import annotations

import json
import time

import streamlit as st
from sqlalchemy import Engine

from app.auth import user_name
from app.inert import inert, md
from app.label_flag import flag_form
from app.review_keys import key_sheet
from app.textdiff import diff_html
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.errors import InputError
from pipeline.ingest.dictionary import names_for
from pipeline.review.board import (
    EVERY,
    Board,
    Card,
    Only,
    decide_rest,
    find_badcase,
    history,
    last_review_id,
    load_board,
    locate,
    next_badcase,
    voted_variants,
)
from pipeline.review.keys import KeyMap
from pipeline.review.queue import RoundClosed, Undone, decide, round_open, undo_last

#: Streamlit fires plain-letter shortcuts only outside text fields (its shortcut filter in the frontend), so a
#: letter typed into a reason stays text. The reason key (T unless rebound) puts the cursor in the reason box;
#: leaving it is one key: Escape, or Enter / Ctrl+Enter, which also commit (the form's submit). Afterwards focus
#: is off the field, so the next A or X is a decision, never an "x" in the reason. ``?`` opens the key sheet.
KEYS_JS = """<script>
window.__sraditReasonKey = %(reason)s;
if (!window.__sraditReviewKeys) {
  window.__sraditReviewKeys = true;
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable);
    if (typing) {
      // Ctrl+Enter: approve with the text. A Streamlit shortcut would submit the form without what was typed
      // (a field in a form commits on Enter, blur or a click), so this is the click on the button itself.
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        e.stopImmediatePropagation();
        t.blur();
        setTimeout(() => {
          const b = [...document.querySelectorAll('button')].find((x) => x.innerText.startsWith('Approve with'));
          if (b) b.click();
        }, 50);
      } else if (e.key === 'Escape' || e.key === 'Enter') setTimeout(() => t.blur(), 0);
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === '?') {
      const b = [...document.querySelectorAll('button')].find((x) => x.innerText.startsWith('Keys (?)'));
      if (b) { e.preventDefault(); b.click(); }
      return;
    }
    const r = window.__sraditReasonKey;
    if (e.key.toLowerCase() === r.key && e.shiftKey === r.shift) {
      const box = document.querySelector('input[aria-label^="Reason or comment"]');
      if (box) { e.preventDefault(); box.focus(); }
    }
  }, true);
  // A clicked toggle keeps focus, and Streamlit ignores letter keys while an input has focus.
  document.addEventListener('click', () => setTimeout(() => {
    const el = document.activeElement;
    if (el && el.tagName === 'INPUT' && el.type === 'checkbox') el.blur();
  }, 50), true);
}
</script>"""

FOCUS_CSS = "<style>.st-key-board_focused{outline:3px solid #ff4b4b;border-radius:.5rem}</style>"
COLUMNS = 4
#: A gap between two of an expert's actions longer than this is time away, not time on the decision.
IDLE_GAP_SECONDS = 60.0


def install_keys(keys: KeyMap) -> None:
    """The Review page's key helpers (with this expert's reason key) and the focused card's outline (both views)."""
    reason = keys.keys["reason"]
    # A checked key (one letter, optionally Shift+): safe to write into the script.
    bound = json.dumps({"key": reason.removeprefix("Shift+").lower(), "shift": reason.startswith("Shift+")})
    st.html(KEYS_JS % {"reason": bound} + FOCUS_CSS, unsafe_allow_javascript=True)


def _ss() -> dict:  # type: ignore[type-arg]
    return st.session_state  # type: ignore[return-value]


def _open(badcase_id: int | None, focus_variant: int | None = None) -> None:
    now = time.monotonic()
    _ss().update(
        board_badcase=badcase_id, board_focus=focus_variant, board_opened_at=now, board_last_at=now, board_score=None
    )
    _act()


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


def _act() -> None:
    """Count the time since the expert's previous action on the board as active, unless it was a gap of over
    :data:`IDLE_GAP_SECONDS` (away from the desk); every key and click on the board is an action."""
    now = time.monotonic()
    ss = _ss()
    gap = now - ss.get("board_acted_at", now)
    if gap <= IDLE_GAP_SECONDS:
        ss["board_active"] = ss.get("board_active", 0.0) + gap
    ss["board_acted_at"] = now


def _active_seconds() -> float:
    """The active time since the previous decision (then counting starts again)."""
    _act()
    return round(_ss().pop("board_active", 0.0), 2)


def _elapsed() -> tuple[float, float]:
    """(seconds since the last decision on this board, seconds since it opened)."""
    now = time.monotonic()
    ss = _ss()
    last = now - ss.get("board_last_at", now)
    ss["board_last_at"] = now
    return round(last, 2), round(now - ss.get("board_opened_at", now), 2)


def _refused(e: RoundClosed) -> None:
    _ss().update(board_message=f"Not saved: {e}.", board_badcase=None)


def _now_focused(board: Board, drawn: int) -> int:
    """The focused card's index as the keys pressed so far left it. A button's arguments are those of the run that
    last drew it, and keys pressed faster than the page redraws arrive with arguments from before the previous key
    took effect (X moved the focus on, then Ctrl+Enter came with the old focus): the session's focus is always
    current, since Streamlit runs each key's callback in order."""
    ids = [c.variant_id for c in board.cards]
    current = _ss().get("board_focus")
    return ids.index(current) if current in ids else drawn


def _move(board: Board, focused: int, delta: int) -> None:
    _act()
    if not board.cards:
        return
    i = max(0, min(len(board.cards) - 1, _now_focused(board, focused) + delta))
    _ss().update(board_focus=board.cards[i].variant_id, board_score=None)


def _focus(variant_id: int) -> None:
    _act()
    _ss().update(board_focus=variant_id, board_score=None)


def _score(k: int) -> None:
    _act()
    _ss()["board_score"] = k


def _decide(
    engine: Engine,
    uid: int,
    required: int,
    board: Board,
    focused: int,
    decision: str,
    best: bool = False,
    advance: bool = True,
) -> None:
    ss = _ss()
    if not board.cards:
        return
    focused = _now_focused(board, focused)
    card = board.cards[focused]
    reason = (ss.get("board_text") or "").strip() or None
    seconds, since_open = _elapsed()
    active = _active_seconds()
    try:
        decide(
            engine,
            uid,
            card.variant_id,
            decision,
            # A new decision replaces the expert's vote on this variant; a score given before stays unless retyped.
            score=ss.get("board_score") or (card.mine.score if card.mine else None),
            best=best,
            reason=reason if decision == "reject" else None,
            comment=reason if decision != "reject" else None,
            seconds=seconds,
            board_seconds=since_open if best else None,
            active_seconds=active,
            required=required,
        )
    except RoundClosed as e:
        _refused(e)
        return
    ss["board_message"] = f"{'best' if best else decision}: Variant {card.number}" + (f" — {reason}" if reason else "")
    ss.update(board_score=None, board_text="")  # the text went with this decision, never with the next
    if advance and not best:
        # Auto-advance: on to the next variant still undecided (after this one, then from the top).
        # The votes as they stand now: the board drawn with this button may predate the last few keys.
        voted = voted_variants(engine, uid, board.badcase_id)
        order = board.cards[focused + 1 :] + board.cards[:focused]
        following = next((c for c in order if c.variant_id not in voted), None)
        if following is not None:
            ss["board_focus"] = following.variant_id


def _rest(engine: Engine, uid: int, required: int, board: Board, decision: str) -> None:
    _act()
    seconds, _ = _elapsed()
    try:
        n = decide_rest(engine, uid, board, decision, seconds=seconds, required=required)
    except RoundClosed as e:
        _refused(e)
        return
    _ss()["board_message"] = f"{decision} the rest: {n} variant{'s' if n != 1 else ''}"


def _undo(engine: Engine, uid: int, required: int) -> None:
    _act()
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
    if badcase_id != _ss().get("board_badcase"):
        _open(badcase_id, vid)
    # Back one step: the card shows the decision the undone one had replaced; with none, the score typed for the
    # undone decision waits for the next one (5, B, U, B keeps the 5).
    _ss().update(
        board_focus=vid,
        board_score=undone.score if undone.restored is None else None,
        board_message=_undo_message(number, undone),
    )


def _undo_message(number: int, undone: Undone) -> str:
    def said(decision: str | None, score: int | None) -> str:
        return (decision or "undecided") + (f" · score {score}" if score else "")

    if undone.variants > 1:
        return f"undone: {undone.decision} of the rest, {undone.variants} variants back to undecided"
    back = said(undone.restored, undone.restored_score)
    return f"undone: Variant {number} {said(undone.decision, undone.score)} → {back}"


def _next(engine: Engine, uid: int, round_no: int, include_filtered: bool, board: Board, only: Only) -> None:
    _act()
    found = next_badcase(engine, uid, round_no, include_filtered, after=board.badcase_id, only=only)
    _open(found if found != board.badcase_id else None)
    left = "no other badcase left for you" + only.words()
    _ss()["board_message"] = None if found and found != board.badcase_id else left


def _reopen(badcase_id: int, variant_id: int) -> None:
    _open(badcase_id, variant_id)


def draw_board(
    engine: Engine,
    uid: int,
    round_no: int,
    include_filtered: bool,
    required: int,
    keys: KeyMap,
    only: Only = EVERY,
) -> None:
    """The board of the badcase open in this session (else the next one this expert has not finished, of those
    the page narrowed the queue to)."""
    ss = _ss()
    # The history lists this browser session's decisions: those after the expert's last one before it.
    ss.setdefault("board_since", last_review_id(engine, uid))
    if ss.get("board_message"):
        st.caption(inert(ss["board_message"]))
    if not round_open(engine, round_no):
        st.warning(md("Round {} has left review: its decisions are closed.", round_no))
        return
    if ss.get("board_badcase") is None:
        _open(next_badcase(engine, uid, round_no, include_filtered, only=only))
    if ss.get("board_badcase") is None:
        st.success(md("Every badcase of this round{} is finished for you.", only.words()))
        st.button(
            "Undo last decision",
            shortcut=keys.keys["undo"],
            on_click=_undo,
            args=(engine, uid, required),
            key="undo_empty",
        )
        _history(engine, uid, round_no)
        return
    board = load_board(engine, uid, ss["board_badcase"], include_filtered)
    if not board.cards:  # reopened from the history with the filtered-out variants hidden
        st.info("No variant of this badcase is in view: switch on Include filtered-out, or N for the next one.")
    ids = [c.variant_id for c in board.cards]
    focused = ids.index(ss["board_focus"]) if ss.get("board_focus") in ids else 0
    main, side = st.columns([5, 1])
    with main:
        _header(engine, board)
        if board.notice():
            st.success(md("{}", board.notice()))
        _keys(engine, uid, round_no, include_filtered, required, board, focused, keys, only)
        _grid(board, focused)
        if board.cards:
            _reason(engine, uid, required, board, focused, keys)
            _details(board.cards[focused], board)
    with side:
        _history(engine, uid, round_no)
        with st.expander("Gold codes wrong?"):
            flag_form(engine, board.badcase_id, user_name(), board.gold_principal, board.gold_others)


def _header(engine: Engine, board: Board) -> None:
    names = names_for(engine, {board.gold_principal, board.predicted_principal or "", *board.gold_others})
    decided = len(board.cards) - len(board.undecided)
    st.subheader(md("{} · {} of {} variants decided by you", board.case_id, decided, len(board.cards)))
    gold = f"主 {board.gold_principal} {names.get(board.gold_principal, '')}" + "".join(
        f" · {c} {names.get(c, '')}" for c in board.gold_others
    )
    why = [f"predicted principal {board.predicted_principal or '—'}"] if "principal_miss" in board.error_types else []
    why += [f"missed {c}" for c in board.missing] + [f"extra {c}" for c in board.extra]
    doubt = (
        f"  ·  label doubt {board.label_error_confidence:.0%} (out-of-fold model: how sure the gold codes are wrong)"
        if board.label_error_confidence is not None
        else ""
    )
    st.caption(inert(f"gold: {gold}  ·  why a badcase: {', '.join(why) or '—'}{doubt}"))


def _keys(
    engine: Engine,
    uid: int,
    round_no: int,
    include_filtered: bool,
    required: int,
    board: Board,
    focused: int,
    keys: KeyMap,
    only: Only,
) -> None:
    k = keys.keys
    st.caption(inert(keys.line()))
    base = (engine, uid, required, board, focused)
    advance = {"advance": keys.auto_advance}
    with st.container(horizontal=True):
        st.button("Previous", key="board_prev", shortcut=k["previous"], on_click=_move, args=(board, focused, -1))
        st.button("Next variant", key="board_next", shortcut=k["next"], on_click=_move, args=(board, focused, 1))
        for score in range(1, 6):
            st.button(
                "★" * score,
                key=f"board_score_{score}",
                shortcut=str(score),
                on_click=_score,
                args=(score,),
                type="primary" if _ss().get("board_score") == score else "secondary",
            )
        approve, reject = (*base, "approve"), (*base, "reject")
        st.button("Approve", key="board_approve", shortcut=k["approve"], on_click=_decide, args=approve, kwargs=advance)
        st.button("Reject", key="board_reject", shortcut=k["reject"], on_click=_decide, args=reject, kwargs=advance)
        st.button("Best", key="board_best", shortcut=k["best"], on_click=_decide, args=(*approve, True))
        rest = (engine, uid, required, board)
        st.button(
            "Approve the rest",
            key="board_approve_rest",
            shortcut=k["approve_rest"],
            on_click=_rest,
            args=(*rest, "approve"),
        )
        st.button(
            "Reject the rest",
            key="board_reject_rest",
            shortcut=k["reject_rest"],
            on_click=_rest,
            args=(*rest, "reject"),
        )
        st.button("Undo", key="board_undo", shortcut=k["undo"], on_click=_undo, args=(engine, uid, required))
        st.button("Diff", key="board_diff_key", shortcut=k["diff"], on_click=_toggle_diff)
        st.button(
            "Next badcase",
            key="board_next_badcase",
            shortcut=k["next_badcase"],
            on_click=_next,
            args=(engine, uid, round_no, include_filtered, board, only),
        )
        key_sheet(engine, uid, keys)


def _reason(engine: Engine, uid: int, required: int, board: Board, focused: int, keys: KeyMap) -> None:
    number = board.cards[focused].number
    base = (engine, uid, required, board, focused)
    advance = {"advance": keys.auto_advance}
    with st.form("board_reason_form", clear_on_submit=True, enter_to_submit=True, border=False):
        st.text_input(
            md("Reason or comment for Variant {} (Enter rejects with it, Ctrl+Enter approves with it)", number),
            key="board_text",
        )
        with st.container(horizontal=True):
            st.form_submit_button(
                "Reject with reason (Enter)", on_click=_decide, args=(*base, "reject"), kwargs=advance
            )
            st.form_submit_button(
                "Approve with comment (Ctrl+Enter)", on_click=_decide, args=(*base, "approve"), kwargs=advance
            )


def _toggle_diff() -> None:
    _ss()["board_diff"] = not _ss().get("board_diff", False)


def _badge(card: Card) -> str:
    if card.mine is None:
        return "undecided"
    return {"approve": "✓ approved", "reject": "✗ rejected", "skip": "skipped"}[card.mine.decision] + (
        " · ★ best" if card.mine.best else ""
    )


def _grid(board: Board, focused: int) -> None:
    for start in range(0, len(board.cards), COLUMNS):
        cols = st.columns(COLUMNS)
        for col, card in zip(cols, board.cards[start : start + COLUMNS], strict=False):
            is_focused = board.cards[focused] is card
            with col.container(border=True, key="board_focused" if is_focused else f"board_card_{card.number}"):
                st.button(
                    md("Variant {}", card.number),
                    key=f"board_focus_{card.number}",
                    on_click=_focus,
                    args=(card.variant_id,),
                    type="primary" if is_focused else "tertiary",
                )
                place = f"rank {card.rank}" if card.rank else "filtered out" if card.passed is False else "unranked"
                sim = f" · similarity {card.similarity:.0f}" if card.similarity is not None else ""
                score = f" · score {card.mine.score}" if card.mine and card.mine.score else ""
                st.markdown(md("{}{} · **{}**{}", place, sim, _badge(card), score))
                experts = (
                    "experts: hidden until you vote (blind review)"
                    if card.others_hidden
                    else f"experts: ✓{card.approvals} ✗{card.rejections} ★{card.best_votes}"
                )
                st.caption(inert(f"{experts} · {card.summary}"))


def _details(card: Card, board: Board) -> None:
    st.markdown(md("**Variant {}** — filter verdicts", card.number))
    st.text(
        "\n".join(f"{'✓' if ok else '✗'} {name}: {reason}" for name, (ok, reason) in card.verdicts.items())
        or "not filtered yet"
    )
    if card.mine and (card.mine.reason or card.mine.comment):
        st.caption(
            inert(f"your {'reason' if card.mine.reason else 'comment'}: {card.mine.reason or card.mine.comment}")
        )
    if not _ss().get("board_diff"):
        st.caption(md("D shows Variant {} beside the original", card.number))
        return
    for name in card.changed or TEXT_SECTIONS[:1]:
        left, right = diff_html(board.original.get(name, ""), card.sections.get(name, ""))
        st.markdown(md("**{}**", name))
        a, b = st.columns(2)
        a.caption("original")
        a.html(f'<div style="white-space:pre-wrap;line-height:1.6">{left}</div>')
        b.caption(md("Variant {}", card.number))
        b.html(f'<div style="white-space:pre-wrap;line-height:1.6">{right}</div>')


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
                on_click=_reopen,
                args=(r.badcase_id, r.variant_id),
                help=inert(f"{entry} · {r.at:%H:%M:%S}" + (f" · {r.reason}" if r.reason else ""))
                + " — reopen the badcase on this variant",
                type="tertiary",
                width="stretch",
            )
