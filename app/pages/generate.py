"""Generate: rewrite a round's badcases and run the filter chain (background jobs), then see the funnel."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.inert import md
from app.services.jobs import get_job, recent_jobs, submit
from app.services.rewrite import filter_params
from app.state import ready_engine, settings
from db.vocabulary import JOB_ACTIVE_STATUSES, VARIANT_GENERATORS
from pipeline.augment.filter_chain import funnel, per_code_counts
from pipeline.augment.rewriting import RewriteConfig
from pipeline.domain.label_space import PRINCIPAL
from pipeline.errors import SraditError
from pipeline.overview import round_numbers
from training.models.catalog import load_models
from training.models.resolve import all_models

require("engineer")
st.title("Generate")
engine = ready_engine()
if engine is None:
    st.stop()
rounds = round_numbers(engine)
if not rounds:
    st.info("No round yet: mine one on the Badcases page.")
    st.stop()

actor = user_name()
llms = [name for name, spec in load_models(settings().models).items() if spec.kind == "llm"]
#: models that predict as they are (learners are trained, not used); the baseline is the label filter's default
predictors = [m.name for m in all_models(engine, settings().models) if m.kind not in ("baseline", "learner")]
# Outside the form: what the generator is decides which of the form's fields apply.
generator = st.radio(
    "Generator", VARIANT_GENERATORS, horizontal=True, help="rules needs no model; llm uses a model of the models file"
)
with st.form("generate"):
    c1, c3 = st.columns(2)
    round_no = c1.selectbox("Round", rounds)
    model = c3.selectbox("LLM model / engine", llms or ["(none configured)"], disabled=generator != "llm" or not llms)
    c4, c5, c6 = st.columns(3)
    n = c4.number_input("Variants per badcase (N)", 1, 100, 20)
    temperature = c5.slider(
        "Temperature", 0.0, 1.5, 0.9, 0.05, disabled=generator != "llm", help="LLM sampling; rules do not sample"
    )
    policy = c6.selectbox("Policy-verification model", ["(skip)", *predictors])
    label = st.selectbox("Label-consistency model", ["baseline", *predictors])
    with st.expander("Predictions made elsewhere (files on the server; replace the models above)"):
        st.caption(
            "Submission format, one row per variant, ids 病案标识#v<seq> as in the prompts export "
            "(Export page, format prompts)."
        )
        label_file = st.text_input("Label-consistency predictions file").strip()
        policy_file = st.text_input("Policy-verification predictions file").strip()
    go_generate = st.form_submit_button("Generate variants")
    go_filter = st.form_submit_button("Run the filter chain")

if go_generate:
    if generator == "llm" and not llms:
        st.error("No LLM is configured in the models file.")
    else:
        cfg = RewriteConfig(int(round_no), int(n), generator, model if generator == "llm" else None, float(temperature))
        st.session_state["generate_job"] = submit(engine, settings(), cfg, actor)
if go_filter:
    try:
        params = filter_params(
            int(round_no),
            policy_model=None if policy == "(skip)" or policy_file else policy,
            label_model=None if label == "baseline" or label_file else label,
            label_predictions=label_file or None,
            policy_predictions=policy_file or None,
        )
    except SraditError as e:
        st.error(md("{}", str(e)))
    else:
        st.session_state["generate_job"] = submit(engine, settings(), params, actor)


@st.fragment(run_every=2)
def _progress() -> None:
    job_id = st.session_state.get("generate_job")
    if job_id is None:
        active = [
            j
            for j in recent_jobs(engine, limit=10)
            if j.kind in ("rewrite", "filter") and j.status in JOB_ACTIVE_STATUSES
        ]
        if not active:
            return
        job_id = active[0].id
    job = get_job(engine, job_id)
    st.progress(job.progress, text=f"{job.kind} job {job.id}: {job.status}")
    if job.status == "failed":
        st.error(md("{}", job.message or "failed"))
    elif job.status == "succeeded" and job.result:
        for line in job.result.get("lines", []):
            st.write(md("{}", line))


_progress()

st.subheader(md("Round {}: the filter funnel", round_no))
stages = funnel(engine, int(round_no))
funnel_bars = alt.Chart(pd.DataFrame(stages, columns=["stage", "variants"])).encode(
    y=alt.Y("stage:N", sort=None, title=None, axis=alt.Axis(labelLimit=0)), x=alt.X("variants:Q", title="variants")
)
st.altair_chart(funnel_bars.mark_bar() + funnel_bars.mark_text(align="left", dx=3).encode(text="variants:Q"))
st.subheader("Per principal code")
st.dataframe(
    pd.DataFrame(
        [(code, PRINCIPAL.get(code, ""), b, p) for code, b, p in per_code_counts(engine, int(round_no))],
        columns=["code", "name", "badcases", "variants passing"],
    ),
    hide_index=True,
)
