"""Badcases: mine a round (as a background job), browse the library (likeliest label errors first), open one badcase
and flag its gold codes as wrong."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.inert import inert, md
from app.label_flag import flag_form
from app.services.jobs import get_job, recent_jobs, submit
from app.services.models import model_names
from app.state import ready_engine, settings
from db.vocabulary import BADCASE_ERROR_WORDS, BADCASE_ERRORS, JOB_ACTIVE_STATUSES
from pipeline.accounts.users import list_users
from pipeline.augment.filter_chain import badcase_variants
from pipeline.distill.traces import traces_of_badcase
from pipeline.domain.label_space import all_codes
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.errors import SraditError
from pipeline.mining.badcases import badcase_detail, list_badcases
from pipeline.mining.kfold import MiningConfig
from pipeline.review.assignments import assign, assigned_counts
from pipeline.review.label_issues import HELD, list_label_issues

require("engineer")
st.title("Badcases")
engine = ready_engine()
if engine is None:
    st.stop()

with st.expander("Mine a new round (K-fold, runs in the background)", expanded=False):
    with st.form("mine"):
        c1, c2, c3, c4 = st.columns(4)
        model = c1.selectbox("Model", model_names(engine, settings()), help="A learner is trained per fold.")
        dataset = c2.text_input("Dataset", "train")
        folds = c3.number_input("Folds", 2, 10, 5)
        seed = c4.number_input("Seed", 0, 10_000, 0)
        threshold = st.slider("Other-code F1 below which a record is a badcase", 0.0, 1.0, 0.5, 0.05)
        if st.form_submit_button("Start mining"):
            cfg = MiningConfig(dataset, int(folds), int(seed), None, float(threshold), model)
            st.session_state["mining_job"] = submit(engine, settings(), cfg, user_name())


@st.fragment(run_every=2)
def _mining_progress() -> None:
    job_id = st.session_state.get("mining_job")
    if job_id is None:
        running = [j for j in recent_jobs(engine, "kfold", 5) if j.status in JOB_ACTIVE_STATUSES]
        if not running:
            return
        job_id = running[0].id
    job = get_job(engine, job_id)
    st.progress(job.progress, text=f"mining job {job.id}: {job.status}")
    if job.status == "failed":
        st.error(md("{}", job.message or "failed"))
    elif job.status == "succeeded" and job.result:
        st.success(
            md(
                "round {}: score {}, {} badcases",
                job.result["round"],
                f"{job.result['score']:.2f}",
                job.result["badcases"],
            )
        )


_mining_progress()

rows = list_badcases(engine)
if not rows:
    st.info("No badcases yet: mine a round above, or run `sradit kfold`.")
    st.stop()

rounds = sorted({r.round_no for r in rows}, reverse=True)
f1, f2, f3 = st.columns(3)
round_no = f1.selectbox("Round", rounds)
error = f2.selectbox("Error type", ["any", *BADCASE_ERRORS], format_func=lambda e: BADCASE_ERROR_WORDS.get(e, e))
code = f3.text_input("Code involved", placeholder="e.g. I25.103")
# Likeliest label errors first: an expert checks the gold codes before the record is rewritten 20 times.
shown = sorted(
    list_badcases(engine, round_no, None if error == "any" else error, code.strip() or None),
    key=lambda r: -(r.label_error_confidence if r.label_error_confidence is not None else -1),
)
flags = {i.badcase_id: i.status for i in list_label_issues(engine, round_no=round_no) if i.status in HELD}

with st.expander(md("Deal round {}'s badcases to experts", round_no)):
    dealt = assigned_counts(engine, round_no)
    st.caption(
        md("Assigned now: {}.", ", ".join(f"{n} {k}" for n, k in dealt.items()))
        if dealt
        else "None assigned yet: every expert's queue is every badcase."
    )
    with st.form("assign"):
        a1, a2 = st.columns([3, 1])
        reviewers = [name for name, _role, active, _created in list_users(engine) if active]
        experts = a1.multiselect("Experts", reviewers)
        copies = a2.number_input("Experts per badcase", 1, 10, 1, help="Each badcase goes to this many of them.")
        if st.form_submit_button("Deal the unfinished badcases"):
            try:
                st.success(md("{}", assign(engine, round_no, experts, user_name(), int(copies)).text()))
            except SraditError as e:
                st.error(md("{}", str(e)))

names = all_codes()
table = pd.DataFrame(
    [
        {
            "id": r.id,
            "record (病案标识)": r.case_id,
            "label error?": r.label_error_confidence,
            "label issue": flags.get(r.id, ""),
            "errors": ", ".join(BADCASE_ERROR_WORDS[e] for e in r.error_types),
            "gold principal": f"{r.gold_principal} {names.get(r.gold_principal, '')}",
            "predicted": f"{r.predicted_principal} {names.get(r.predicted_principal, '')}"
            if r.predicted_principal
            else "—",
            "other F1": round(r.other_f1, 2),
            "missing": "; ".join(r.missing),
            "extra": "; ".join(r.extra),
            "status": r.status,
        }
        for r in shown
    ]
)
st.caption(
    md(
        "{} of {} badcases of round {}, likeliest label errors first. *label error?*: how strongly the "
        "out-of-fold evidence goes against the gold codes — 1 − cleanlab's label quality (principal and other "
        "codes weighted as the metric) of the baseline's probabilities, or of an LLM's answers read as "
        "frequencies (its samples, an ensemble's folds); empty when there is neither.",
        len(shown),
        sum(r.round_no == round_no for r in rows),
        round_no,
    )
)
# Keyed by the filters: a selection made in one filtered table never indexes another (it would point past its end).
picked = st.dataframe(
    table,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key=f"badcase_table_{round_no}_{error}_{code.strip()}",
    column_config={"label error?": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f")},
)
selected = [i for i in (picked.selection.rows if picked else []) if i < len(table)]
if selected:
    st.session_state["badcase_id"] = int(table.iloc[selected[0]]["id"])

badcase_id = st.session_state.get("badcase_id")
if badcase_id is not None and any(r.id == badcase_id for r in shown):
    d = badcase_detail(engine, badcase_id)
    st.subheader(md("{} — {}", d.row.case_id, ", ".join(BADCASE_ERROR_WORDS[e] for e in d.row.error_types)))
    g, p = st.columns(2)
    with g:
        st.markdown("**Gold**")
        st.text(f"principal  {d.row.gold_principal}  {d.names.get(d.row.gold_principal, '')}")
        for c in d.gold_others:
            mark = "✗ missed" if c in d.row.missing else "✓"
            st.text(f"other      {c}  {d.names.get(c, '')}  {mark}")
    with p:
        st.markdown("**Predicted (out of fold)**")
        pp = d.row.predicted_principal
        st.text(f"principal  {pp or '—'}  {d.names.get(pp or '', '')}")
        for c in d.predicted_others:
            mark = "✗ extra" if c in d.row.extra else "✓"
            st.text(f"other      {c}  {d.names.get(c, '')}  {mark}")
    confidence = d.row.label_error_confidence
    st.markdown(
        "**Are the gold codes wrong?**"
        + ("" if confidence is None else md(" The out-of-fold model is {} confident they are.", f"{confidence:.0%}"))
    )
    flag_form(engine, badcase_id, user_name(), d.row.gold_principal, d.gold_others)
    for name in TEXT_SECTIONS:
        with st.expander(md("{}", name), expanded=name in ("主诉", "入院诊断")):
            st.text(d.sections.get(name, ""))  # st.text: record text is shown, never rendered as markup
    if d.raw_output:
        with st.expander("Model output"):
            st.text(d.raw_output)
    st.markdown("**Variants of this badcase** (ranked by the filter chain; review them on the Review page)")
    found = badcase_variants(engine, d.row.case_id, round_no)
    variants = [v for _number, views in found for v in views]
    if not variants:
        st.caption("No variants yet: generate them on the Generate page (or `sradit rewrite`).")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "rank": v.rank,
                        "variant": v.seq + 1,  # numbered within the badcase from 1, as on the Review board
                        "passed": v.passed,
                        "similarity %": None if v.similarity is None else round(v.similarity, 1),
                        "generator": v.generator,
                        "failed filters": ", ".join(n for n, (ok, _r) in v.verdicts.items() if not ok),
                        "edits": len(v.edits),
                    }
                    for v in variants
                ]
            ),
            hide_index=True,
        )
    traces = traces_of_badcase(engine, badcase_id)
    st.markdown("**Teacher reasoning (CoT distillation)**")
    if not traces:
        st.caption("No reasoning stored for this record: `sradit cotd --teacher NAME` writes it.")
    for t in traces:
        label = f"{t.subtask} · {t.teacher} · {t.prompt_version} · {t.dataset} · {t.created_at:%Y-%m-%d %H:%M}"
        with st.expander(inert(label)):
            st.text(t.text)  # as text: a teacher's output is never rendered as markup
