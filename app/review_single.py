"""The Review page's one-at-a-time view (an option beside the board): one variant per screen."""

from __future__ import annotations

import time

import streamlit as st
from sqlalchemy import Engine

from app.inert import inert, md
from app.textdiff import diff_html
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.ingest.dictionary import names_for
from pipeline.review.queue import ReviewItem, RoundClosed, decide, item, next_item, undo_last


def _current(engine: Engine, uid: int, round_no: int, include_filtered: bool) -> ReviewItem | None:
    """The item on screen: kept in session state (as an id) until it is decided."""
    vid = st.session_state.get("review_variant")
    if vid is None:
        found = next_item(engine, uid, round_no, include_filtered)
        if found is None:
            return None
        st.session_state["review_variant"] = found.variant_id
        st.session_state["review_shown_at"] = time.monotonic()
        return found
    return item(engine, vid, include_filtered)


def _act(engine: Engine, uid: int, required: int, decision: str, best: bool = False) -> None:
    vid = st.session_state.get("review_variant")
    if vid is None:
        return
    label = st.session_state.get("review_label", "")
    seconds = time.monotonic() - st.session_state.get("review_shown_at", time.monotonic())
    try:
        decide(
            engine,
            uid,
            vid,
            decision,
            score=st.session_state.get("review_score"),
            best=best,
            reason=st.session_state.get("review_reason") or None,
            comment=st.session_state.get("review_comment") or None,
            seconds=round(seconds, 2),
            required=required,
        )
        last = f"{'best' if best else decision}: {label}" + (" — the badcase is finished for you" if best else "")
    except RoundClosed as e:
        last = f"not saved: {e}"
    st.session_state.update(
        review_variant=None, review_score=None, review_reason="", review_comment="", review_last=last
    )


def _undo(engine: Engine, uid: int, required: int) -> None:
    try:
        undone = undo_last(engine, uid, required)
        vid = undone.variant_id if undone else None
        last = (
            f"undone: the variant is back on screen, {undone.restored or 'undecided'}" if undone else "nothing to undo"
        )
    except RoundClosed as e:
        vid, last = None, f"not undone: {e}"
    st.session_state.update(review_variant=vid, review_shown_at=time.monotonic(), review_last=last)


def _score(k: int) -> None:
    st.session_state["review_score"] = k


def draw_single(engine: Engine, uid: int, round_no: int, include_filtered: bool, required: int) -> None:
    current = _current(engine, uid, round_no, include_filtered)
    if st.session_state.get("review_last"):
        st.caption(inert(st.session_state["review_last"]))
    if current is None:
        st.success("The queue is empty for you in this round.")
        st.button("Undo last decision", shortcut="U", on_click=_undo, args=(engine, uid, required), key="undo_empty")
        return
    st.session_state["review_label"] = f"Variant {current.seq + 1} of {current.case_id}"
    names = names_for(
        engine,
        {
            current.gold_principal,
            current.predicted_principal or "",
            *current.gold_others,
            *current.missing,
            *current.extra,
        },
    )
    st.subheader(
        md("{} · Variant {} (in review order {} of {})", current.case_id, current.seq + 1, current.position, current.of)
        + (md(" · rank {}", current.rank) if current.rank else " · filtered out" if current.passed is False else "")
    )
    info, verdicts = st.columns([1, 1])
    with info:
        st.markdown("**Gold codes**")
        st.text(
            "\n".join(
                [f"主 {current.gold_principal} {names.get(current.gold_principal, '')}"]
                + [f"   {c} {names.get(c, '')}" for c in current.gold_others]
            )
        )
        st.markdown("**Why this is a badcase**")
        why = (
            [
                f"predicted principal {current.predicted_principal or '—'} "
                f"{names.get(current.predicted_principal or '', '')}"
            ]
            if "principal_miss" in current.error_types
            else []
        )
        why += [f"missed {c} {names.get(c, '')}" for c in current.missing]
        why += [f"extra {c} {names.get(c, '')}" for c in current.extra]
        st.text("\n".join(why) or "—")
    with verdicts:
        st.markdown("**Filter verdicts**")
        st.text(
            "\n".join(f"{'✓' if ok else '✗'} {name}: {reason}" for name, (ok, reason, _d) in current.verdicts.items())
            or "not filtered yet"
        )
        if current.edits:
            st.caption(md("edits: {}", ", ".join(current.edits[:8])))

    st.markdown(
        "**Decision** — keys: 1–5 score · A approve · X reject · B best (finishes the badcase) · S skip · U undo"
    )
    args = (engine, uid, required)
    with st.container(horizontal=True):
        for k in range(1, 6):
            st.button(
                "★" * k,
                key=f"score_{k}",
                shortcut=str(k),
                on_click=_score,
                args=(k,),
                type="primary" if st.session_state.get("review_score") == k else "secondary",
            )
        st.button("Approve", key="approve", shortcut="A", on_click=_act, args=(*args, "approve"))
        st.button("Reject", key="reject", shortcut="X", on_click=_act, args=(*args, "reject"))
        st.button("Best", key="best", shortcut="B", on_click=_act, args=(*args, "approve", True))
        st.button("Skip", key="skip", shortcut="S", on_click=_act, args=(*args, "skip"))
        st.button("Undo", key="undo", shortcut="U", on_click=_undo, args=args)
    c1, c2 = st.columns(2)
    c1.text_input("Reason (for a reject)", key="review_reason")
    c2.text_input("Comment", key="review_comment")

    for name in TEXT_SECTIONS:
        a, b = current.original.get(name, ""), current.variant.get(name, "")
        changed = a != b
        with st.expander(md("{}{}", name, " · changed" if changed else ""), expanded=changed or name == "入院诊断"):
            left, right = diff_html(a, b)
            shown_left, shown_right = st.columns(2)
            shown_left.caption("original")
            shown_left.html(f'<div style="white-space:pre-wrap;line-height:1.6">{left}</div>')
            shown_right.caption("variant")
            shown_right.html(f'<div style="white-space:pre-wrap;line-height:1.6">{right}</div>')
