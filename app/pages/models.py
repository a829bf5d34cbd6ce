"""Models: every model with its lineage, an ensemble's members, registering a folder, predicting a dataset,
and building the tiny offline model. Long work runs as jobs (the Jobs page shows their logs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.folders import FOLDER_HELP, confine, confinement, str_or_none
from app.inert import md
from app.services.jobs import JobView, get_job, submit
from app.services.mining import PredictParams, datasets_to_predict
from app.services.models import describe, model_entries, register_external
from app.services.training import TinyParams
from app.state import ready_engine, settings
from db.vocabulary import JOB_ACTIVE_STATUSES, SUBTASKS
from pipeline.domain.vocabulary import INFERENCE_MODES, TRAINERS
from pipeline.errors import SraditError

require("engineer")
st.title("Models")
engine = ready_engine()
if engine is None:
    st.stop()


def _score(metrics: dict[str, Any]) -> str:
    """A fold model's score on its held-out fold, an ensemble's out of fold, with its metric; — when it has none
    (a model registered from outside, a retrained one)."""
    value = metrics.get("held_out_score", metrics.get("oof_score"))
    return "—" if value is None else f"{value:.2f} ({metrics.get('metric', 'f1')})"


entries = model_entries(engine, settings())
st.dataframe(
    pd.DataFrame(
        [
            {
                "name": e.name,
                "kind": e.kind,
                "sub-task": e.subtask or "",
                "fold": "" if e.fold is None else f"fold{e.fold}",
                "round": "" if e.round_no is None else f"r{e.round_no}",
                "dataset": e.dataset or "",
                "parent": e.parent or "",
                "held-out score": _score(e.metrics),
            }
            for e in entries
        ]
    ),
    hide_index=True,
    width="stretch",
)
st.caption(
    "Learners (kind learner) live in the models file; `sradit kfold --model LEARNER` (or Badcases → mine) trains "
    "one model per fold and sub-task and registers them with their ensemble."
)
chosen = st.selectbox("Details of", [e.name for e in entries])
if chosen:
    st.code("\n".join(describe(engine, settings(), chosen)), language=None, wrap_lines=True)

st.subheader("Predict a dataset")
choices = {d.name: d for d in datasets_to_predict(engine)}
with st.form("predict"):
    c1, c2, c3 = st.columns(3)
    model = c1.selectbox("Model", [e.name for e in entries if e.kind != "learner"])
    dataset = c2.selectbox(
        "Dataset",
        list(choices),
        index=list(choices).index("test") if "test" in choices else 0,
        format_func=lambda name: choices[name].label(),
        help="Predictions of a dataset with gold codes are scored against them.",
    )
    inference = c3.selectbox("Inference", ["model's own", *INFERENCE_MODES])
    if st.form_submit_button("Predict", disabled=not choices):
        params = PredictParams(model, dataset, None if inference == "model's own" else inference)
        st.session_state["predict_job"] = submit(engine, settings(), params, user_name())


def _predictions_lines(job: JobView) -> None:
    st.caption(md("Job {}: {}", job.id, job.status) + (md(" — {}", job.message) if job.message else ""))
    for line in (job.result or {}).get("lines", []):
        st.text(line)


@st.fragment(run_every=2)
def _predictions_running() -> None:
    """The predict job as it runs; once it ended, the whole page once more (which stops this redrawing)."""
    job = get_job(engine, st.session_state["predict_job"])
    _predictions_lines(job)
    if job.status not in JOB_ACTIVE_STATUSES:
        st.rerun()


def _predictions_ended(job: JobView) -> None:
    """The ended job's lines (the score, when the dataset has labels) and a download of the predictions in the
    task's submission format, read from disk only when clicked."""
    _predictions_lines(job)
    out = Path(job.result["out"]) if job.result and job.result.get("out") else None
    if out is not None and out.is_file():
        st.download_button(
            "Download the predictions (JSON)",
            out.read_bytes,  # a callable: read only when clicked
            file_name=f"predictions-job{job.id}.json",
            mime="application/json",
            key=f"predictions_{job.id}",
        )


if "predict_job" in st.session_state:
    predicted = get_job(engine, st.session_state["predict_job"])
    if predicted.status in JOB_ACTIVE_STATUSES:
        _predictions_running()
    else:
        _predictions_ended(predicted)

st.subheader("Register a model trained elsewhere")
with st.form("register"):
    c1, c2, c3 = st.columns(3)
    name = c1.text_input("Name")
    path = c2.text_input("Folder (weights + tokenizer)")
    kind = c3.selectbox("Kind", TRAINERS)
    c4, c5, c6 = st.columns(3)
    subtask = c4.selectbox("Sub-task", ["both", *SUBTASKS])
    round_no = c5.number_input("Round (0: none)", 0, 1000, 0)
    dataset_version = c6.text_input("Dataset version it was trained on")
    if st.form_submit_button("Register"):
        try:
            register_external(
                engine,
                settings(),
                name.strip(),
                Path(path.strip()),
                kind,
                None if subtask == "both" else subtask,
                int(round_no) or None,
                dataset_version.strip() or None,
                None,
                "transformers",
                user_name(),
            )
            st.success(md("registered {}", name))
            st.rerun()
        except SraditError as e:
            st.error(md("{}", str(e)))

st.subheader("The tiny offline model")
st.caption(
    "A 2-layer Qwen2 built on this machine: random weights, or taught to answer both prompts on synthetic records "
    "other than the demo's (about 80 s on two idle cores). It stands in for a real LLM in tests and demos — its "
    "scores say nothing about real models."
)
with st.form("tiny"):
    c1, c2 = st.columns(2)
    out = c1.text_input("Folder", str(settings().workspace / "models" / "tiny-answers"), help=FOLDER_HELP)
    answers = c2.checkbox("Teach it to answer", value=True)
    if st.form_submit_button("Build"):
        try:  # held to the data folder as every typed folder, now and again when the job writes
            params = TinyParams(str(confine(out, settings())), answers, str_or_none(confinement(settings())))
        except SraditError as e:
            st.error(md("{}", str(e)))
        else:
            st.session_state["tiny_job"] = submit(engine, settings(), params, user_name())


@st.fragment(run_every=2)
def _tiny_build() -> None:
    """The build as it runs; once it succeeded, the whole page once more, so that the table lists the model."""
    job = get_job(engine, st.session_state["tiny_job"])
    st.caption(md("Job {}: {}", job.id, job.status) + (md(" — {}", job.message) if job.message else ""))
    for line in (job.result or {}).get("lines", []):
        st.text(line)
    if job.status == "succeeded" and st.session_state.get("tiny_listed") != job.id:
        st.session_state["tiny_listed"] = job.id
        st.rerun()


if "tiny_job" in st.session_state:
    _tiny_build()
