"""Rounds: start the next round or continue one (a background job running its stages), see each stage."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.services.jobs import get_job, recent_jobs, submit
from app.services.rounds import ROUND_HANDLER
from app.state import ready_engine, settings
from pipeline.rounds.lifecycle import review_complete, rounds
from training.models.catalog import load_models

require("engineer")
st.title("Rounds")
engine = ready_engine()
if engine is None:
    st.stop()

existing = rounds(engine)
unfinished = [r for r in existing if r.status != "done"]
models = load_models(settings().models)
llms = [n for n, m in models.items() if m.kind == "llm"]
with st.form("round"):
    label = f"Continue round {unfinished[-1].number}" if unfinished else "Start the next round"
    st.markdown(f"**{label}**")
    c1, c2, c3, c4 = st.columns(4)
    mode = c1.selectbox(
        "Approval",
        ["interactive", "non-interactive"],
        help="non-interactive: the filter chain approves (marked as such); no expert",
    )
    n = c2.number_input("Variants per badcase", 1, 100, 20)
    generator = c3.selectbox("Generator", ["rules", "llm"])
    generator_model = c4.selectbox("LLM", llms or ["(none configured)"], disabled=not llms)
    c5, c6, c7 = st.columns(3)
    dataset = c5.text_input("Dataset (round 1)", "train")
    threshold = c6.slider("Badcase: other F1 below", 0.0, 1.0, 0.5, 0.05)
    seed = c7.number_input("Seed", 0, 10_000, 0)
    if st.form_submit_button(label, type="primary"):
        config = {
            "dataset": dataset,
            "n": int(n),
            "generator": generator,
            "generator_model": generator_model if generator == "llm" and llms else None,
            "threshold": float(threshold),
            "seed": int(seed),
        }
        st.session_state["round_job"] = submit(
            engine,
            settings(),
            "round",
            ROUND_HANDLER,
            {"mode": mode, "config": config, "actor": user_name()},
            user_name(),
        )


@st.fragment(run_every=2)
def _running() -> None:
    job_id = st.session_state.get("round_job")
    if job_id is None:
        active = [j for j in recent_jobs(engine, "round", 5) if j.status in ("queued", "running")]
        if not active:
            return
        job_id = active[0].id
    job = get_job(engine, job_id)
    stages = [j for j in recent_jobs(engine, limit=10) if j.kind in ("kfold", "rewrite", "filter", "retrain")]
    current = next((j for j in stages if j.status == "running"), None)
    text = f"round job {job.id}: {job.status}" + (f" · stage {current.kind}" if current else "")
    st.progress(current.progress if current else (1.0 if job.status == "succeeded" else 0.0), text=text)
    if job.status == "failed":
        st.error(job.message or "failed")
    elif job.status == "succeeded" and job.result:
        st.success(f"round {job.result['round']}: {job.result['status']}")
    if job.status not in ("queued", "running") and st.session_state.get("round_job_shown") != job.id:
        st.session_state["round_job_shown"] = job.id
        st.rerun()  # the whole page: the table and the form's next round change with the job's end


_running()

if existing:
    rows = []
    for r in reversed(existing):
        ident, train = r.results.get("identifying", {}), r.results.get("training", {})
        reviewed = "{}/{}".format(*review_complete(engine, r.number)) if r.status == "in_review" else ""
        rows.append(
            {
                "round": r.number,
                "status": r.status,
                "mode": r.mode,
                "dataset": r.config.get("dataset"),
                "badcases": ident.get("badcases"),
                "reviewed": reviewed,
                "generated": r.results.get("generating", {}).get("generated"),
                "passing": r.results.get("filtering", {}).get("passed"),
                "selected": r.results.get("in_review", {}).get("selected"),
                "approved by": r.results.get("in_review", {}).get("approved_by"),
                "score before": ident.get("score"),
                "score after": train.get("score_after"),
                "fixed": train.get("fixed"),
                "started": r.created_at,
                "finished": r.finished_at,
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True)
else:
    st.info("No round yet.")
