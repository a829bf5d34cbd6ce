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


def require(group: str) -> None:
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
