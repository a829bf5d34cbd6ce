"""Home: what is in the database, and the round dashboard."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth import require
from app.state import ready_engine
from pipeline.domain.label_space import all_codes
from pipeline.overview import overview
from pipeline.rounds.dashboard import per_code_accuracy, round_rows

require("review")
st.title("SRADIT Studio")
st.caption("Badcases → expert-reviewed rewrites → retraining, for ICD coding of Chinese discharge records.")

engine = ready_engine()
if engine is None:
    st.stop()
ov = overview(engine)
c1, c2, c3, c4 = st.columns(4)
c1.metric("EMRs", ov.emrs, help="Distinct original records; dataset versions (train@rN) hold copies of them.")
c2.metric("Labelled EMRs", ov.labelled_emrs)
c3.metric("Dictionary codes", ov.dictionary_codes)
c4.metric("Users", sum(ov.users.values()))

rows = round_rows(engine)
if rows:
    st.subheader("Rounds")
    pct = lambda x: None if x is None else round(100 * x, 2)  # noqa: E731
    table = pd.DataFrame(
        [
            {
                "round": r.number,
                "status": r.status,
                "mode": r.mode,
                "badcases": r.badcases,
                "fixed": r.fixed,
                "still wrong": r.still_wrong,
                "variants": r.funnel[0][1] if r.funnel else 0,
                "passing all filters": r.funnel[-1][1] if len(r.funnel) > 1 else None,
                "approved": r.approved,
                "expert min / approved": None
                if r.expert_minutes_per_approved is None
                else round(r.expert_minutes_per_approved, 2),
                "mined with": ", ".join(r.models["mined"]),
                "filtered with": ", ".join(r.models["filtered"]),
                "trained": ", ".join(r.models["trained"]),
                "metric": r.metric,
                "score before": r.score_before,
                "measured": r.before_measured,
                "score after": r.score_after,
                "measured ": r.after_measured,
                "principal acc. before": pct(r.principal_before),
                "after": pct(r.principal_after),
                "other F1 before": pct(r.other_f1_before),
                "after ": pct(r.other_f1_after),
            }
            for r in rows
        ]
    )
    st.dataframe(table, hide_index=True)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Score over rounds ({rows[-1].metric}: 0.5 × principal + 0.5 × other codes)**")
        scores = pd.DataFrame(
            {"before": [r.score_before for r in rows], "after retraining": [r.score_after for r in rows]},
            index=pd.Index([r.number for r in rows], name="round"),
        )
        st.line_chart(scores)
    with right:
        latest = rows[-1]
        st.markdown(f"**Round {latest.number}: variants left after each filter**")
        if latest.funnel:
            st.bar_chart(
                pd.DataFrame(latest.funnel, columns=["stage", "variants"]).set_index("stage"),
                horizontal=True,
                sort=False,
            )
    codes = per_code_accuracy(engine)
    if codes:
        names = all_codes()
        st.markdown("**Per-code recall in the newest out-of-fold predictions (rarest first: the long tail)**")
        st.bar_chart(
            pd.DataFrame(
                [{"code": f"{c.code} {names.get(c.code, '')} (n={c.support})", "recall": c.recall} for c in codes[:25]]
            ).set_index("code"),
            horizontal=True,
            sort=False,
        )

st.subheader("Datasets")
if ov.datasets:
    st.dataframe(
        pd.DataFrame(
            [(d.name, d.records, d.labelled, d.records - d.labelled, d.variants) for d in ov.datasets],
            columns=["dataset", "records", "labelled", "unlabelled", "variants"],
        ),
        hide_index=True,
    )
else:
    st.info("No records yet: `sradit import FILE --dataset NAME` loads some.")

left, right = st.columns(2)
with left:
    st.subheader("Label space")
    st.write(f"{ov.label_codes.get('principal', 0)} principal codes, {ov.label_codes.get('other', 0)} other codes")
    st.subheader("Jobs")
    st.write(", ".join(f"{n} {s}" for s, n in sorted(ov.jobs.items())) or "none yet")
with right:
    st.subheader("Recent activity")
    if ov.recent:
        st.dataframe(pd.DataFrame(ov.recent, columns=["when (UTC)", "who", "action", "target"]), hide_index=True)
    else:
        st.write("nothing yet")
