"""Label issues: the gold codes experts flagged as wrong, likeliest label errors first; accept one (a relabelled
dataset version) or dismiss it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.inert import md
from app.state import ready_engine
from pipeline.domain.label_space import all_codes
from pipeline.errors import InputError
from pipeline.review.label_issues import LabelIssueRow, accept_label_issue, dismiss_label_issue, list_label_issues

require("engineer")
st.title("Label issues")
engine = ready_engine()
if engine is None:
    st.stop()

names = all_codes()
done = st.session_state.pop("label_issue_done", None)
if done:
    st.success(md("{}", done))

issues = list_label_issues(engine)
opened = [i for i in issues if i.status == "open"]
c1, c2, c3 = st.columns(3)
c1.metric("Open", len(opened))
c2.metric("Accepted", sum(i.status == "accepted" for i in issues))
c3.metric("Dismissed", sum(i.status == "dismissed" for i in issues))


def _codes(principal: str, others: tuple[str, ...]) -> None:
    st.text(f"principal  {principal}  {names.get(principal, '?')}")
    for c in others:
        st.text(f"other      {c}  {names.get(c, '?')}")


def _resolve(issue: LabelIssueRow, accept: bool, note: str) -> None:
    try:
        if accept:
            made = accept_label_issue(engine, issue.id, user_name(), note)
            message = f"Label issue {made.issue_id} accepted: dataset {made.dataset} (from {made.parent}) is ready."
        else:
            dismiss_label_issue(engine, issue.id, user_name(), note)
            message = f"Label issue {issue.id} dismissed: the gold codes stand."
    except InputError as e:
        st.error(md("{}", str(e)))
        return
    st.session_state["label_issue_done"] = message
    st.rerun()


if not opened:
    st.info("No open label issue. Experts flag wrong gold codes beside a badcase; so does `sradit labels flag`.")
for issue in opened:
    confidence = "—" if issue.confidence is None else f"{issue.confidence:.0%}"
    with st.container(border=True):
        st.markdown(
            md(
                "**Issue {}** · record {} · round {} · the out-of-fold model's confidence that the gold codes are "
                "wrong: **{}** · flagged by {} at {} UTC",
                issue.id,
                issue.case_id,
                issue.round_no,
                confidence,
                issue.flagged_by,
                issue.flagged_at,
            )
        )
        gold, proposed = st.columns(2)
        with gold:
            st.markdown("**Gold codes**")
            _codes(issue.old_principal, issue.old_others)
        with proposed:
            st.markdown("**Proposed**")
            _codes(issue.proposed_principal, issue.proposed_others)
        if issue.comment:
            st.text(f"why: {issue.comment}")  # as text: what an expert typed is never rendered as markup
        note = st.text_input("Note (optional)", key=f"label_note_{issue.id}", max_chars=2000)
        a, d = st.columns(2)
        if a.button("Accept: new dataset version", key=f"label_accept_{issue.id}", type="primary"):
            _resolve(issue, True, note)
        if d.button("Dismiss: the gold codes stand", key=f"label_dismiss_{issue.id}"):
            _resolve(issue, False, note)

resolved = [i for i in issues if i.status != "open"]
if resolved:
    st.subheader("Resolved")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "issue": i.id,
                    "status": i.status,
                    "round": i.round_no,
                    "病案标识": i.case_id,
                    "gold": "; ".join([i.old_principal, *i.old_others]),
                    "proposed": "; ".join([i.proposed_principal, *i.proposed_others]),
                    "dataset": i.dataset or "—",
                    "flagged by": i.flagged_by,
                    "resolved by": i.resolved_by,
                    "when (UTC)": i.resolved_at,
                    "note": i.resolution_note or "",
                }
                for i in resolved
            ]
        ),
        hide_index=True,
    )
