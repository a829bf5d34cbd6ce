"""Training: SFT or GRPO on an export, as a background job; the exact command, live log and curves. Or the paper's
own trainers (LLaMA-Factory, verl) on an export of theirs, as a job here or on the Ray cluster."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.folders import FOLDER_HELP, confine, confinement, str_or_none
from app.inert import md
from app.services.framework_training import FrameworkTrainParams, plan
from app.services.jobs import cancel, get_job, log_tail, metrics, recent_jobs, submit
from app.services.training import FORMAT_FOR, TinyParams, TrainParams, TrainRequest, preview, step_line
from app.state import ready_engine, settings
from db.vocabulary import JOB_ACTIVE_STATUSES
from pipeline.domain.vocabulary import FRAMEWORKS, INFERENCE_MODES, TRAINERS
from pipeline.errors import SraditError
from pipeline.export.datasets import list_exports

require("engineer")
st.title("Training")
engine = ready_engine()
if engine is None:
    st.stop()

TRAINER_LABELS = {"sft": "SFT (TRL)", "grpo": "GRPO (TRL)", "llamafactory": "LLaMA-Factory SFT", "verl": "verl GRPO"}


def _framework_form(framework: str) -> None:
    """The paper's trainer on an export of its format: the command it runs, then a job (registered when done)."""
    exports = [e for e in list_exports(engine) if e.format == framework]
    if not exports:
        st.info(md("No {} export yet: make one on the Export page.", framework))
        return
    c1, c2 = st.columns(2)
    export_id = c1.selectbox(
        "Dataset export",
        [e.id for e in exports],
        format_func=lambda i: next(f"#{e.id} round {e.round_no} v{e.version}" for e in exports if e.id == i),
        key="fw_export",
    )
    start = c2.text_input("Model to start from (a folder or a registered model)", key="fw_model")
    c3, c4 = st.columns(2)
    name = c3.text_input("Register the trained model as", f"{framework}-r{exports[0].round_no}", key="fw_name")
    gpus = int(c4.number_input("GPUs (one node)", 1, 64, 8, key="fw_gpus"))
    if not start:
        st.caption("Name the model to start from: the base for LLaMA-Factory, the SFT model for verl.")
        return
    try:
        if "/" in start:  # a folder, not a registered model's name: held to the data folder as every typed folder
            start = str(confine(start, settings()))
        params = FrameworkTrainParams(framework, int(export_id), start, name, gpus)
        shown = plan(engine, settings().workspace / "models", params).shown
    except SraditError as e:
        st.error(md("{}", str(e)))
        return
    where = "the Ray cluster" if settings().job_backend == "ray" else "this machine"
    st.code(shown, language="bash", wrap_lines=True)
    if st.button(md("Run on {}", where), type="primary", key="fw_run"):
        job_id = submit(engine, settings(), params, user_name())
        st.success(md("job {} queued: follow it on the Jobs page; the model is registered when it succeeds", job_id))


kind = st.radio("Trainer", (*TRAINERS, *FRAMEWORKS), horizontal=True, format_func=TRAINER_LABELS.__getitem__)
if kind in FRAMEWORKS:
    _framework_form(kind)
    st.stop()
exports = [e for e in list_exports(engine) if e.format == FORMAT_FOR[kind]]
if not exports:
    st.info(md("No {} export yet: make one on the Export page.", FORMAT_FOR[kind]))
    st.stop()
c1, c2 = st.columns(2)
export_id = c1.selectbox(
    "Dataset export",
    [e.id for e in exports],
    format_func=lambda i: next(
        f"#{e.id} round {e.round_no} v{e.version} ({e.row_counts.get('train')} rows)" for e in exports if e.id == i
    ),
)
default_model = str(settings().workspace / "models" / "tiny")
typed_model = c2.text_input(
    "Base model folder",
    default_model,
    help="`sradit model tiny --out var/models/tiny` builds the offline test model. " + FOLDER_HELP,
)
try:
    model_path = str(confine(typed_model, settings()))
except SraditError as e:
    st.error(md("{}", str(e)))
    st.stop()


@st.fragment(run_every=2)
def _tiny_build_status() -> None:
    """The build's job, redrawn every 2 s; once it succeeded the whole page draws again with the folder in place."""
    built = get_job(engine, st.session_state["tiny_job"])
    st.caption(md("job {}: {}", built.id, built.status) + (md(" — {}", built.message) if built.message else ""))
    if built.status == "succeeded":
        del st.session_state["tiny_job"]
        st.rerun()


if not Path(model_path).is_dir():
    st.warning(md("{} is not a model folder yet.", model_path))
    if st.button("Build the tiny offline model there (random weights, about 10 s)"):
        tiny = TinyParams(model_path, confined_to=str_or_none(confinement(settings())))
        st.session_state["tiny_job"] = submit(engine, settings(), tiny, user_name())
    if "tiny_job" in st.session_state:
        _tiny_build_status()
st.caption(
    "The tiny model is for trying the machinery: with random weights it writes no answer that parses, so it "
    "scores 0; the answering tiny model (Models page, about 80 s to build) scores about 54 (f1) on demo records. "
    "Neither figure says anything about a real model."
)
c3, c4, c5, c6 = st.columns(4)
if kind == "sft":
    lr = c3.number_input("Learning rate", value=5e-6, format="%.1e")
    batch = c4.number_input("Batch size (total)", 1, 512, 32)
else:
    lr = c3.number_input("Learning rate", value=5e-7, format="%.1e")
    batch = c4.number_input("Generations per prompt (group size)", 2, 16, 6)
    prompts = st.number_input("Prompts per rollout batch (paper: 64; a CPU run wants 2)", 1, 512, 2)
max_steps = c5.number_input("Max steps (-1: the paper's epochs)", -1, 100_000, 4)
eval_limit = c6.number_input("Evaluate on N held-out records (0: none)", 0, 10_000, 4)
c7, c8, c9, c10 = st.columns(4)
eval_dataset = c7.text_input(
    "Evaluation dataset (blank: the export's held-out fold)",
    "",
    help="A dataset that shares a record (or a variant of one) with the training data is refused: its score "
    "would not be held out.",
)
allow_in_sample = c10.checkbox("Allow in-sample evaluation", help="The score is then labelled in-sample.")
inference = c8.selectbox("Evaluation inference", INFERENCE_MODES)
max_new = c9.number_input("Tokens per answer (completion / evaluation)", 4, 8192, 16)

values = {
    "learning_rate": float(lr),
    "max_steps": int(max_steps),
    "inference": inference,
    "eval_max_tokens": int(max_new),
}
if kind == "sft":
    values["batch_size"] = int(batch)
else:
    values.update(
        num_generations=int(batch),
        max_completion_length=int(max_new),
        train_batch_size=int(prompts),
        ppo_mini_batch_size=int(prompts),
        micro_batch_size=min(2, int(prompts)),
    )
request = TrainRequest(
    kind,
    int(export_id),
    model_path,
    values,
    eval_dataset.strip() or None if eval_limit else None,
    int(eval_limit) or None,
    allow_in_sample=allow_in_sample,
    metric=settings().metric,
)
try:
    st.markdown("**The exact command and configuration**")
    st.code(preview(engine, settings(), request), language="bash")
    ready = True
except SraditError as e:
    st.error(md("{}", str(e)))
    ready = False
if st.button("Start training", type="primary", disabled=not ready):
    st.session_state["train_job"] = submit(engine, settings(), TrainParams(request), user_name(), kind=f"train-{kind}")


@st.fragment(run_every=2)
def _watch() -> None:
    jobs = [j for j in recent_jobs(engine, limit=30) if j.kind.startswith("train-")]
    if not jobs:
        return
    chosen = st.session_state.get("train_job") or jobs[0].id
    job = get_job(engine, chosen)
    st.subheader(md("Job {} · {} · {}", job.id, job.kind, job.status))
    points = metrics(job)
    st.progress(job.progress, text=step_line(points, job.started_at, time.time()))
    if job.status in JOB_ACTIVE_STATUSES and st.button("Cancel", key=f"cancel_{job.id}"):
        cancel(engine, job.id, user_name())
    if job.status == "failed":
        st.error(md("{}", job.message or "failed"))
    if job.result and job.result.get("score") is not None:
        where = job.result.get("evaluation", "held-out")
        st.success(
            md(
                "{} score {} ({}; principal acc. {}, other F1 {})",
                where,
                f"{job.result['score']:.2f}",
                job.result.get("metric", "f1"),
                f"{job.result['principal_accuracy']:.2%}",
                f"{job.result['other_f1']:.2%}",
            )
        )
    lines = pd.DataFrame(points)
    curves = [c for c in ("loss", "reward", "train_loss") if c in lines.columns]
    if curves and "step" in lines.columns:
        points = lines.dropna(subset=curves, how="all")
        if "model" in points.columns:  # a round's training job trains one model per sub-task: a line each
            points = points.pivot_table(index="step", columns="model", values=curves[0])
            st.line_chart(points, x_label="step", y_label=f"{curves[0]} per model")
        else:
            st.line_chart(points.set_index("step")[curves], x_label="step", y_label=" / ".join(curves))
    st.code(log_tail(engine, job, 60) or "(no log yet)", language=None, wrap_lines=True)


_watch()
