"""Agreement between experts, and ties for an engineer to settle."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.inert import md
from app.state import ready_engine
from pipeline.overview import round_numbers
from pipeline.review.agreement import agreement_stats
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
st.caption(
    "Agreement needs two experts on the same badcases: set `SRADIT_REVIEWS_REQUIRED=2` (or more) so a badcase "
    "stays in every expert's queue until that many have picked; ties then come here to settle."
)
stats = agreement_stats(engine, round_no)
st.markdown(md("**Round {}:** {}", round_no, stats.votes_line()))


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


cols = st.columns(3)
for col, stat in zip(cols, (stats.fleiss, stats.best_alpha, stats.score_alpha), strict=True):
    col.metric(md("{}", stat.name), _fmt(stat.value), help=f"{stat.items} items, {stat.raters} experts", delta=None)
    col.caption(
        md("on {} items, {} experts", stat.items, stat.raters) + ("" if stat.value is not None else " (too few)")
    )
st.caption(
    "Kappa and alpha: 1 is perfect agreement, 0 what chance alone gives; — means too few items or no variation "
    "(every expert always approving) to measure."
)
if stats.pairs:
    st.markdown("**Cohen's kappa, each pair of experts (approve / reject on the same variants)**")
    st.dataframe(
        pd.DataFrame(
            [{"expert": p.expert_a, "with": p.expert_b, "kappa": p.kappa, "variants": p.items} for p in stats.pairs]
        ),
        hide_index=True,
    )
if stats.experts:
    st.markdown("**Each expert**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "expert": e.expert,
                    "decisions": e.decisions,
                    "median active seconds per decision": e.median_seconds,
                    "approve rate": e.approve_rate,
                    "agrees with the majority": e.agrees_with_majority,
                    "of decisions with a majority": e.compared,
                }
                for e in stats.experts
            ]
        ),
        hide_index=True,
    )
a = agreement(engine, round_no)
if a.per_badcase:
    st.markdown("**Best picks per badcase (share of expert pairs picking the same variant)**")
    st.dataframe(pd.DataFrame(a.per_badcase, columns=["record (病案标识)", "reviewers", "agreement"]), hide_index=True)
else:
    st.caption("No badcase has been reviewed by two experts yet.")

st.subheader("Ties to settle")
if not a.to_settle:
    st.caption("None.")
for badcase_id, case_id in a.to_settle:
    choices = item_choices(engine, badcase_id)
    with st.form(f"settle_{badcase_id}"):
        pick = st.selectbox(md("{}: the best variant", case_id), list(choices), format_func=lambda v, c=choices: c[v])
        if st.form_submit_button("Settle"):
            settle(engine, user_name(), badcase_id, int(pick))
            st.rerun()
