"""Agreement between experts, and ties for an engineer to settle."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.state import ready_engine
from pipeline.overview import round_numbers
from pipeline.review.queue import agreement, item_choices, settle

require("engineer")
st.title("Agreement")
engine = ready_engine()
if engine is None:
    st.stop()
rounds = round_numbers(engine)
if not rounds:
    st.info("No round yet.")
    st.stop()
round_no = st.selectbox("Round", rounds)
a = agreement(engine, round_no)
st.metric("Overall agreement", "—" if a.overall is None else f"{a.overall:.0%}")
if a.per_badcase:
    st.dataframe(pd.DataFrame(a.per_badcase, columns=["病案标识", "reviewers", "agreement"]), hide_index=True)
else:
    st.caption("No badcase has been reviewed by two experts yet.")

st.subheader("Ties to settle")
if not a.to_settle:
    st.caption("None.")
for badcase_id, case_id in a.to_settle:
    choices = item_choices(engine, badcase_id)
    with st.form(f"settle_{badcase_id}"):
        pick = st.selectbox(f"{case_id}: the best variant", list(choices), format_func=lambda v, c=choices: c[v])
        if st.form_submit_button("Settle"):
            settle(engine, user_name(), badcase_id, int(pick))
            st.rerun()
