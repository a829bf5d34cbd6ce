"""Review: a badcase's variants on one board (keyboard-first), or one variant at a time."""

from __future__ import annotations

import streamlit as st

from app.auth import require, user_id, user_name
from app.inert import md
from app.review_board import draw_board, filter_changed, install_keys, open_case, round_progress
from app.review_single import draw_single
from app.state import ready_engine, settings
from pipeline.overview import round_numbers
from pipeline.review.assignments import assigned_counts
from pipeline.review.board import Only

require("review")
engine = ready_engine()
if engine is None:
    st.stop()
rounds = round_numbers(engine)
if not rounds:
    st.info("Nothing to review yet.")
    st.stop()

# The queue's settings live in the sidebar: every line above the board is a line of the text being judged
# pushed down (at 1440×900 the first five cards are in view with the round's progress alone above them).
with st.sidebar:
    # another round: never the old round's badcase on the board
    round_no = st.selectbox("Round", rounds, key="review_round", on_change=filter_changed)
    include_filtered = st.toggle(
        "Include filtered-out", key="review_filtered", help="Variants that failed a filter come after the ranked ones."
    )
    single = st.toggle("One at a time", key="review_single", help="One variant per screen instead of the board.")
    uid = user_id()
    mine = assigned_counts(engine, round_no).get(user_name(), 0)
    assigned = st.toggle(
        md("Assigned to me ({})", mine),
        value=mine > 0,
        key=f"review_assigned_{round_no}",
        on_change=filter_changed,
        disabled=mine == 0,
        help="Only the badcases an engineer assigned to you (Badcases page, or `sradit review assign`).",
    )
    code = st.text_input(
        "Only badcases with code",
        key="review_code",
        on_change=filter_changed,
        help="An ICD code, principal or other, as in the gold labels (e.g. I10.x00); blank: every badcase.",
    ).strip()
    st.text_input(
        "Open badcase (病案标识)",
        key="review_case",
        on_change=open_case,
        args=(engine, round_no),
        help="Opens that record's badcase in this round on the board, whatever the code filter.",
    )
required = settings().reviews_required
install_keys()
if single:
    round_progress(engine, uid, round_no)
    draw_single(engine, uid, round_no, include_filtered, required)
else:
    draw_board(engine, uid, round_no, include_filtered, required, Only(code or None, assigned and mine > 0))
