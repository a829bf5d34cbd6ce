"""Who is signed in, and what their role may see. Pages call ``require`` first: a page reached without
the role (by URL, say) shows an error and stops."""

from __future__ import annotations

import streamlit as st

#: What each role may do, by page group.
ALLOWED: dict[str, set[str]] = {
    "review": {"expert", "engineer", "admin"},
    "engineer": {"engineer", "admin"},
    "admin": {"admin"},
}


def signed_in() -> bool:
    return "user_id" in st.session_state


def role() -> str | None:
    return st.session_state.get("user_role")


def user_name() -> str:
    return st.session_state.get("user_name", "app")


def user_id() -> int:
    return int(st.session_state["user_id"])


def may(group: str) -> bool:
    return role() in ALLOWED[group]


def refresh() -> None:
    """Read the signed-in account again: a disabled or deleted one is signed out, a changed role applies now."""
    if not signed_in():
        return
    from app.state import engine
    from pipeline.accounts.users import account

    found = account(engine(), user_id())
    if found is None:
        sign_out()  # the next run draws the sign-in form
        return
    st.session_state.update(user_name=found[0], user_role=found[1])


def require(group: str) -> None:
    refresh()
    if not signed_in():
        st.warning("Please sign in.")
        st.stop()
    if not may(group):
        st.error(f"Your role ({role()}) may not open this page.")
        st.stop()


def sign_in(uid: int, name: str, user_role: str) -> None:
    st.session_state.update(user_id=uid, user_name=name, user_role=user_role)


def sign_out() -> None:
    for key in list(st.session_state):
        del st.session_state[key]
