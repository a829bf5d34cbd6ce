"""Review: a badcase's variants on one board (keyboard-first), or one variant at a time."""

from __future__ import annotations

import streamlit as st

from app.auth import require, user_id, user_name
from app.inert import md
from app.review_board import draw_board, filter_changed, install_keys, open_case
from app.review_single import draw_single
from app.state import ready_engine, settings
from pipeline.overview import round_numbers
from pipeline.review.assignments import assigned_counts
from pipeline.review.board import Only
from pipeline.review.keys import key_map
from pipeline.review.queue import progress

require("review")
engine = ready_engine()
if engine is None:
    st.stop()
rounds = round_numbers(engine)
if not rounds:
    st.info("Nothing to review yet.")
    st.stop()

top = st.columns([1, 1, 1, 3])
round_no = top[0].selectbox("Round", rounds, key="review_round")
include_filtered = top[1].toggle(
    "Include filtered-out", key="review_filtered", help="Variants that failed a filter come after the ranked ones."
)
single = top[2].toggle("One at a time", key="review_single", help="One variant per screen instead of the board.")
uid = user_id()
required = settings().reviews_required

mine = assigned_counts(engine, round_no).get(user_name(), 0)
filters = st.columns([1, 1, 1, 3])
assigned = filters[2].toggle(
    md("Assigned to me ({})", mine),
    value=mine > 0,
    key=f"review_assigned_{round_no}",
    on_change=filter_changed,
    disabled=mine == 0,
    help="The badcases an engineer dealt to you (Badcases page, or `sradit review assign`).",
)
code = (
    filters[0]
    .text_input(
        "Only badcases with code",
        key="review_code",
        on_change=filter_changed,
        help="An ICD code, principal or other, as in the gold labels (e.g. I10.x00); blank: every badcase.",
    )
    .strip()
)
filters[1].text_input(
    "Open badcase (病案标识)",
    key="review_case",
    on_change=open_case,
    args=(engine, round_no),
    help="Opens that record's badcase in this round on the board, whatever the code filter.",
)
p = progress(engine, uid, round_no)
top[3].progress(
    p.decided / p.variants if p.variants else 1.0,
    text=f"round {round_no}: {p.text()}",
)
keys = key_map(engine, uid)
install_keys(keys)
if single:
    draw_single(engine, uid, round_no, include_filtered, required)
else:
    draw_board(engine, uid, round_no, include_filtered, required, keys, Only(code or None, assigned and mine > 0))
