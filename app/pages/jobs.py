"""Jobs: what runs in the background, in which lane (cpu or gpu) and where (this machine, or a Ray cluster and
its node), its progress and log; cancel."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.services.jobs import cancel, get_job, log_tail, recent_jobs
from app.state import ready_engine, settings
from db.vocabulary import JOB_ACTIVE_STATUSES

require("engineer")
st.title("Jobs")
engine = ready_engine()
if engine is None:
    st.stop()


@st.fragment(run_every=2)
def _jobs() -> None:
    views = recent_jobs(engine, settings=settings())
    if not views:
        st.info("No jobs yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "id": j.id,
                    "kind": j.kind,
                    "lane": j.lane,
                    "status": j.status,
                    "progress": j.progress,
                    "by": j.created_by,
                    "created (UTC)": j.created_at,
                    "message": j.summary,
                    "backend": j.backend,
                    "Ray job": j.backend_id or "",
                    "node": j.node or "",
                }
                for j in views
            ]
        ),
        hide_index=True,
        column_config={"progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0)},
    )
    job_id = st.selectbox("Job", [j.id for j in views], key="job_pick")
    job = get_job(engine, int(job_id))
    if job.status in JOB_ACTIVE_STATUSES and st.button("Cancel job", key=f"cancel_{job.id}"):
        cancel(engine, job.id, user_name())
        st.rerun(scope="fragment")
    st.code(log_tail(engine, job) or "(no log yet)", language=None, wrap_lines=True)


_jobs()
