"""Users (admins): list accounts, add one, change a role, disable or enable, set a new password, lift sign-in locks;
see who is signed in and end a session."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.inert import md
from app.state import ready_engine
from db.vocabulary import USER_ROLES
from pipeline.accounts import sessions, throttle
from pipeline.accounts.users import add_user, list_users, set_active, set_password, set_role
from pipeline.errors import SraditError

require("admin")
st.title("Users")


def _done(message: str) -> None:
    """Say ``message`` (plain text, drawn inert) on the next run, which shows the change in the table."""
    st.session_state["users_notice"] = message
    st.rerun()


engine = ready_engine()
if engine is None:
    st.stop()
# A change is drawn by the run after it, so the table and the account list above the forms include it.
notice = st.session_state.pop("users_notice", None)
if notice:
    st.success(md("{}", notice))
accounts = list_users(engine)
st.dataframe(
    pd.DataFrame(
        [(n, r, "active" if a else "disabled", c) for n, r, a, c in accounts],
        columns=["name", "role", "state", "created (UTC)"],
    ),
    hide_index=True,
)

st.subheader("Change an account")
with st.form("change_user"):
    c1, c2, c3 = st.columns(3)
    name = c1.selectbox("Account", [a[0] for a in accounts])
    action = c2.selectbox("Change", ["role", "disable", "enable", "new password", "unlock sign-in"])
    new_role = c3.selectbox("New role (for a role change)", USER_ROLES)
    password = st.text_input("New password (blank: generate one)", type="password")
    if st.form_submit_button("Apply"):
        try:
            if action == "role":
                set_role(engine, name, new_role, user_name())
                _done(f"{name} is now {new_role}; it applies from their next page")
            elif action in ("disable", "enable"):
                if action == "disable" and name == user_name():
                    raise SraditError("you cannot disable your own account")
                set_active(engine, name, action == "enable", user_name())
                _done(f"{name} {action}d")
            elif action == "unlock sign-in":
                lifted = throttle.unlock(engine, name, user_name())
                _done(f"{name}: {lifted} sign-in counters lifted, from every client")
            else:
                generated = set_password(engine, name, password or None, user_name())
                _done(f"password of {name} changed" + (f": {generated}" if generated else ""))
        except SraditError as e:
            st.error(md("{}", str(e)))

st.subheader("Add an account")
with st.form("add_user", clear_on_submit=True):
    c1, c2, c3 = st.columns(3)
    name = c1.text_input("Name")
    role = c2.selectbox("Role", USER_ROLES)
    password = c3.text_input("Password (blank: generate one)", type="password")
    if st.form_submit_button("Add user"):
        try:
            generated = add_user(engine, name, role, password or None, user_name())
        except SraditError as e:
            st.error(md("{}", str(e)))
        else:
            _done(f"Added {role} {name}" + (f" — password: {generated}" if generated else ""))

st.subheader("Signed in now")
opened = sessions.open_sessions(engine)
st.dataframe(
    pd.DataFrame(
        [(o.session_id, o.name, o.client, o.created_at, o.last_seen_at, o.expires_at) for o in opened],
        columns=["session", "name", "client", "signed in (UTC)", "last seen (UTC)", "expires (UTC)"],
    ),
    hide_index=True,
)
with st.form("revoke_session"):
    labels = {o.session_id: f"{o.session_id} · {o.name} · {o.client or '—'}" for o in opened}
    chosen = st.selectbox("Session", list(labels), format_func=labels.get)
    if st.form_submit_button("End this session", disabled=not opened) and chosen is not None:
        sessions.revoke(engine, int(chosen), user_name())
        _done(f"session {chosen} ended: its next page asks for a sign-in")
