"""The flag form: a badcase's gold codes are wrong, and these are the right ones. The Badcases page draws it; the
review board can draw it beside a badcase with one call,
``flag_form(engine, badcase_id, user_name(), gold_principal, gold_others)``."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from app.inert import md
from pipeline.domain.label_space import OTHER, PRINCIPAL
from pipeline.errors import InputError
from pipeline.review.label_issues import HELD, flag_label_issue, issues_of_badcase


def _named(code: str) -> str:
    return f"{code} {PRINCIPAL.get(code) or OTHER.get(code, '')}"


def flag_form(
    engine: Engine, badcase_id: int, actor: str, gold_principal: str, gold_others: tuple[str, ...]
) -> int | None:
    """The form, or what the badcase's standing flag says; returns the id of an issue flagged in this run."""
    standing = next((i for i in issues_of_badcase(engine, badcase_id) if i.status in HELD), None)
    if standing is not None:
        proposed = "; ".join([standing.proposed_principal, *standing.proposed_others])
        st.info(
            md(
                "Label issue {} ({}), flagged by {}: proposes {}",
                standing.id,
                standing.status,
                standing.flagged_by,
                proposed,
            )
            + (md(" — dataset {}", standing.dataset) if standing.dataset else " — waiting for an engineer")
            + ". This badcase is held out of rewriting and augmentation."
        )
        return None
    principals = list(PRINCIPAL)
    with st.form(f"flag_{badcase_id}"):
        st.caption(
            "The gold codes are wrong? Propose the right ones: an engineer accepts (a relabelled dataset "
            "version) or dismisses the flag; meanwhile the badcase is not rewritten or merged."
        )
        principal = st.selectbox(
            "Right principal code",
            principals,
            index=principals.index(gold_principal) if gold_principal in principals else 0,
            format_func=_named,
        )
        others = st.multiselect(
            "Right other codes", list(OTHER), default=[c for c in gold_others if c in OTHER], format_func=_named
        )
        comment = st.text_input("Why (optional)", max_chars=2000)
        if not st.form_submit_button("Flag gold codes as wrong"):
            return None
    try:
        issue = flag_label_issue(engine, badcase_id, principal, others, actor, comment)
    except InputError as e:
        st.error(md("{}", str(e)))
        return None
    st.success(md("Label issue {} flagged: an engineer sees it on the Label issues page.", issue))
    return issue
