"""Home: what is in the database, and the round dashboard."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app.auth import require
from app.inert import md
from app.state import ready_engine
from db.vocabulary import LABEL_ISSUE_STATUSES
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
c3.metric(
    "Label-space codes",
    sum(ov.label_codes.values()),
    help=f"ICD dictionary: {ov.dictionary_codes} codes imported"
    + ("" if ov.dictionary_codes else " (`sradit codes import icd10_clinical_v2.tsv` adds the full names)"),
)
c4.metric("Users", sum(ov.users.values()))

rows = round_rows(engine)
if rows:
    st.subheader("Rounds")
    pct = lambda x: None if x is None else round(100 * x, 2)  # noqa: E731
    two = lambda x: None if x is None else round(x, 2)  # noqa: E731
    table = pd.DataFrame(
        [
            {
                "round": r.number,
                "status": r.status,
                "badcases": r.badcases,
                "fixed": r.fixed,
                "still wrong": r.still_wrong,
                "variants": r.funnel[0][1] if r.funnel else 0,
                "passing all filters": r.funnel[-1][1] if len(r.funnel) > 1 else None,
                "selected": r.approved,
                "expert min / selected": two(r.expert_minutes_per_approved),
                "expert min / badcase": two(r.expert_minutes_per_badcase),
                "label issues open / accepted / dismissed": " / ".join(
                    str(r.label_issues[k]) for k in LABEL_ISSUE_STATUSES
                ),
                f"score before ({r.metric})": two(r.score_before),
                "measured": r.before_measured,
                f"score after ({r.metric})": two(r.score_after),
                "measured ": r.after_measured,
                "principal acc. before → after": f"{pct(r.principal_before)} → {pct(r.principal_after) or '—'}",
                "other F1 before → after": f"{pct(r.other_f1_before)} → {pct(r.other_f1_after) or '—'}",
                "models": "; ".join(f"{k}: {', '.join(v)}" for k, v in r.models.items() if v),
            }
            for r in rows
        ]
    ).fillna("—")
    st.dataframe(table, hide_index=True, column_config={"models": st.column_config.TextColumn(width="large")})
    left, right = st.columns(2)
    with left:
        st.markdown(md("**Score over rounds ({}: 0.5 × principal + 0.5 × other codes)**", rows[-1].metric))
        long = pd.DataFrame(
            [
                {"round": f"round {r.number}", "when": when, "score": value}
                for r in rows
                for when, value in (("before", r.score_before), ("after retraining", r.score_after))
                if value is not None
            ]
        )
        if not long.empty:
            # Scaled to the data (not 0–100), so 94.33 → 94.64 is visible; points and values for one round too.
            base = alt.Chart(long).encode(
                x=alt.X("round:N", title="round", sort=None),
                y=alt.Y(
                    "score:Q",
                    title=f"score ({rows[-1].metric})",
                    scale=alt.Scale(zero=False, padding=8),
                    axis=alt.Axis(format=".2f"),  # ticks as scores (94.33), not 94.330669
                ),
                color=alt.Color("when:N", title=None, sort=["before", "after retraining"]),
            )
            labels = base.mark_text(dy=-10).encode(text=alt.Text("score:Q", format=".2f"))
            st.altair_chart(base.mark_line(point=True) + labels, width="stretch")
    with right:
        latest = rows[-1]
        st.markdown(md("**Round {}: variants left after each filter**", latest.number))
        if latest.funnel:
            funnel = pd.DataFrame(latest.funnel, columns=["stage", "variants"])
            bars = alt.Chart(funnel).encode(
                y=alt.Y("stage:N", sort=None, title=None, axis=alt.Axis(labelLimit=0)),
                x=alt.X("variants:Q", title="variants"),
            )
            st.altair_chart(bars.mark_bar() + bars.mark_text(align="left", dx=3).encode(text="variants:Q"))
    codes = per_code_accuracy(engine)
    if codes:
        names = all_codes()
        st.markdown("**Per-code recall in the newest out-of-fold predictions (rarest first: the long tail)**")
        recall = pd.DataFrame(
            [{"code": f"{c.code} {names.get(c.code, '')} (n={c.support})", "recall": c.recall} for c in codes[:25]]
        )
        bars = alt.Chart(recall).encode(
            y=alt.Y("code:N", sort=None, title=None, axis=alt.Axis(labelLimit=0)),
            x=alt.X("recall:Q", title="recall", scale=alt.Scale(domain=[0, 1])),
        )
        # A recall of 0 draws no bar: its value is written beside the axis all the same.
        st.altair_chart(
            bars.mark_bar() + bars.mark_text(align="left", dx=3).encode(text=alt.Text("recall:Q", format=".2f")),
            width="stretch",
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
    st.write(
        md("{} principal codes, {} other codes", ov.label_codes.get("principal", 0), ov.label_codes.get("other", 0))
    )
    st.subheader("Jobs")
    st.write(md("{}", ", ".join((f"{n} {s}" for s, n in sorted(ov.jobs.items()))) or "none yet"))
with right:
    st.subheader("Recent activity")
    if ov.recent:
        st.dataframe(pd.DataFrame(ov.recent, columns=["when (UTC)", "who", "action", "target"]), hide_index=True)
    else:
        st.write("nothing yet")
