"""Home: what is in the database."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth import require
from app.state import ready_engine
from pipeline.overview import overview

require("review")
st.title("SRADIT Studio")
st.caption("Badcases → expert-reviewed rewrites → retraining, for ICD coding of Chinese discharge records.")

engine = ready_engine()
if engine is not None:
    ov = overview(engine)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Records", sum(d.records for d in ov.datasets))
    c2.metric("Labelled", sum(d.labelled for d in ov.datasets))
    c3.metric("Dictionary codes", ov.dictionary_codes)
    c4.metric("Users", sum(ov.users.values()))

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
