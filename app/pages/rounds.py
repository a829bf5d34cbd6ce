"""Rounds: configure the next round (the same fields as `sradit round start --config`, shown as YAML, with what it
will cost), start or continue it as a background job, watch each stage's job, see which models every round used."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.inert import md
from app.services.jobs import get_job, recent_jobs, submit
from app.services.round_plan import cost
from app.services.rounds import RoundParams
from app.state import ready_engine, settings
from db.vocabulary import JOB_ACTIVE_STATUSES, ROUND_MODES, VARIANT_GENERATORS
from pipeline.augment.filter_chain import survivors
from pipeline.domain.vocabulary import INFERENCE_MODES, MINING_MODES, RETRAIN_MODES
from pipeline.errors import InputError
from pipeline.rounds.config import AUTO, NONE, RoundConfig, round_config
from pipeline.rounds.dashboard import round_rows
from pipeline.rounds.driver import reward_preview, stage_jobs, sync
from pipeline.rounds.external import waiting_for
from pipeline.rounds.lifecycle import decided_text, next_round_dataset, review_complete
from pipeline.rounds.lookup import open_round_of, rounds
from pipeline.rounds.report import report_lines
from training.models.catalog import load_models
from training.models.registry import registered

require("engineer")
st.title("Rounds")
engine = ready_engine()
if engine is None:
    st.stop()

with st.spinner("Reading the rounds, their stages and the models…", show_time=True):
    opened = open_round_of(engine)
    if opened is not None:
        sync(engine, opened.number)  # stages finished by hand (`sradit rewrite/filter`) count
    existing = rounds(engine)
    unfinished = [r for r in existing if not r.finished]
    specs = load_models(settings().models)
    names = [m.name for m in registered(engine)]


def _config_form() -> RoundConfig | None:
    """The round configuration's fields; None (with the reason shown) while they do not make a valid config."""
    learners = ["baseline"] + [n for n, m in specs.items() if m.is_learner]
    llms = [n for n, m in specs.items() if m.kind == "llm"]
    c1, c2, c3, c4 = st.columns(4)
    values = {
        "mining": c1.selectbox(
            "Mining", MINING_MODES, help=RoundConfig.__dataclass_fields__["mining"].metadata["help"]
        ),
        "learner": c2.selectbox("Learner", learners, help='Models-file learners (kind = "sft") and the baseline'),
        "folds": c3.number_input("Folds", 2, 20, 5),
        "inference": c4.selectbox("Inference", INFERENCE_MODES, help="For mining and both filters"),
    }
    c5, c6, c7 = st.columns(3)
    values["generator"] = c5.selectbox("Generator", VARIANT_GENERATORS)
    values["rewrite_model"] = c6.selectbox("Rewrite LLM", [None, *llms], disabled=values["generator"] != "llm")
    values["n"] = c7.number_input("Variants per badcase", 1, 100, 20)
    c8, c9, c10 = st.columns(3)
    values["label_model"] = c8.selectbox("Label filter model", [AUTO, "baseline", *names, *llms])
    values["policy_model"] = c9.selectbox("Policy filter model", [AUTO, NONE, *names, *llms])
    values["grpo_config"] = c10.text_input("GRPO config", "configs/grpo.yaml")
    c11, c12, c13, c14 = st.columns(4)
    values["dataset"] = c11.text_input("Dataset (round 1)", "train")
    values["threshold"] = c12.slider("Badcase: other F1 below", 0.0, 1.0, 0.5, 0.05)
    values["seed"] = c13.number_input("Seed", 0, 10_000, 0)
    values["retrain"] = c14.selectbox(
        "Retraining", RETRAIN_MODES, help=RoundConfig.__dataclass_fields__["retrain"].metadata["help"]
    )
    try:
        return round_config(values, "the form")
    except InputError as e:
        st.warning(md("{}", str(e)))
        return None


if unfinished:
    current = unfinished[-1]
    stage = current.status.replace("_", " ")
    st.markdown(md("**Round {}** is at stage **{}** ({}).", current.number, stage, current.mode))
    if current.status == "in_review" and current.mode == "interactive":
        decided, total = review_complete(engine, current.number)
        st.info(md("It waits for the experts on the Review page: {}.", decided_text(decided, total)))
    waits = waiting_for(engine, current.number)
    if waits is not None:
        st.info(md("{}", waits.waiting()))
    if current.results.filtering is not None:
        kept = survivors(engine, current.number)
        empty = [x for x in kept if not x.passed]
        with st.expander(md("Variants per badcase before review ({} of {} badcases kept none)", len(empty), len(kept))):
            st.dataframe(
                pd.DataFrame(
                    [{"badcase": x.case_id, "judged": x.judged, "passed": x.passed, "why none": x.why} for x in kept]
                ),
                hide_index=True,
            )
    if current.status == "training":
        for name, preview in reward_preview(engine, current.number).items():
            st.info(md("Reward preview of {} (before GRPO): {}", name, preview["advice"]))
    st.code(current.config.to_shown_yaml(), language="yaml")
    mode = st.selectbox(
        "Approval for the rest of the round",
        ROUND_MODES,
        index=0 if current.mode == "interactive" else 1,
        help="non-interactive: the filter chain approves what the experts have not decided (marked as such)",
    )
    if st.button(md("Continue round {}", current.number), type="primary"):
        # Its stored settings (unchanged, so nothing is re-applied): the lane of the job follows from them.
        st.session_state["round_job"] = submit(
            engine, settings(), RoundParams(mode, current.config.as_dict()), user_name()
        )
else:
    st.markdown("**Configure the next round**")
    cfg = _config_form()
    mode = st.selectbox("Approval", ROUND_MODES, help="non-interactive: no experts")
    if cfg is not None:
        last = existing[-1] if existing else None
        dataset = next_round_dataset(engine, cfg.dataset)
        guess = last.results.identifying.badcases if last and last.results.identifying else None
        plan = cost(engine, settings(), cfg, dataset, guess)
        left, right = st.columns(2)
        left.code(cfg.to_shown_yaml(), language="yaml")
        right.markdown("**What it will run**\n\n" + "\n".join(md("- {}", line) for line in plan.lines))
        if st.button("Start the next round", type="primary"):
            st.session_state["round_job"] = submit(engine, settings(), RoundParams(mode, cfg.as_dict()), user_name())


@st.fragment(run_every=2)
def _running() -> None:
    job_id = st.session_state.get("round_job")
    if job_id is None:
        active = [j for j in recent_jobs(engine, "round", 5) if j.status in JOB_ACTIVE_STATUSES]
        if not active:
            return
        job_id = active[0].id
    job = get_job(engine, job_id)
    # Only the stage jobs linked to the round this job drives: never another page's job.
    jobs = stage_jobs(engine, job.round_no) if job.round_no is not None else []
    current = next((j for j in jobs if j.status == "running"), None)
    text = f"round job {job.id}: {job.status}" + (
        f" · round {job.round_no}, {current.stage} ({current.kind} job {current.job_id})" if current else ""
    )
    st.progress(current.progress if current else (1.0 if job.status == "succeeded" else 0.0), text=text)
    if job.status == "failed":
        st.error(md("{}", job.message or "failed"))
    elif job.status == "succeeded" and job.result and job.result["status"] == "in_review":
        st.info(md("round {} waits for the experts: its badcases are on the Review page", job.result["round"]))
    elif job.status == "succeeded" and job.result:
        st.success(md("round {}: {}", job.result["round"], str(job.result["status"]).replace("_", " ")))
    if job.status not in JOB_ACTIVE_STATUSES and st.session_state.get("round_job_shown") != job.id:
        st.session_state["round_job_shown"] = job.id
        st.rerun()  # the whole page: the table and the form's next round change with the job's end


def _stage_table(number: int) -> None:
    """Each stage job of the round: which stage, which job, how it went and how long it took."""
    jobs = stage_jobs(engine, number)
    if not jobs:
        st.caption(md("Round {} has run no stage job yet.", number))
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "stage": j.stage,
                    "job": j.job_id,
                    "kind": j.kind,
                    "status": j.status,
                    "seconds": None if j.seconds is None else round(j.seconds, 1),
                    "message": j.message or "",
                }
                for j in jobs
            ]
        ),
        hide_index=True,
    )


_running()

if existing:
    dashboard = {row.number: row for row in round_rows(engine)}  # the Home page's counts, live
    rows = []
    for r in reversed(existing):
        ident, train = r.results.identifying, r.results.training
        generated, filtering, review = r.results.generating, r.results.filtering, r.results.in_review
        models = r.results.models()
        rows.append(
            {
                "round": r.number,
                "status": r.status.replace("_", " "),
                "mode": r.mode,
                "dataset": r.config.dataset,
                "threshold": r.config.threshold,
                "n": r.config.n,
                "mined with": ", ".join(models["mined"]),
                "badcases": ident.badcases if ident else None,
                "generated": generated.generated if generated else None,
                "passing": filtering.passed if filtering else None,
                "filtered with": ", ".join(models["filtered"]),
                "selected": dashboard[r.number].approved if r.number in dashboard else 0,
                "label issues open": dashboard[r.number].label_issues["open"] if r.number in dashboard else 0,
                "relabelled": dashboard[r.number].label_issues["accepted"] if r.number in dashboard else 0,
                "approved by": review.approved_by if review else None,
                "trained": ", ".join(models["trained"]),
                "score before": None if not ident or ident.score is None else round(ident.score, 2),
                "score after": None if not train or train.score_after is None else round(train.score_after, 2),
                "after measured": train.measured if train else None,
                "fixed": train.fixed if train else None,
                "started": r.created_at,
                "finished": r.finished_at,
            }
        )
    st.dataframe(pd.DataFrame(rows).fillna("—"), hide_index=True)
    st.caption("Rounds mined at different thresholds or n are not comparable badcase for badcase.")
    shown = st.selectbox(
        "Settings a round ran with", [r.number for r in reversed(existing)], format_func="round {}".format
    )
    chosen = next(r for r in existing if r.number == shown)
    st.code(chosen.config.to_shown_yaml(), language="yaml")
    st.download_button(
        md("Download round {}'s report", shown),
        "\n".join(report_lines(chosen)) + "\n",
        file_name=f"round{shown}-report.md",
        mime="text/markdown",
    )
    st.markdown(md("**Stage jobs of round {}**", shown))
    _stage_table(shown)
else:
    st.info("No round yet.")
