"""Users (admins): list accounts, add one, change a role, disable or enable, set a new password."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.inert import md
from app.state import ready_engine
from db.vocabulary import USER_ROLES
from pipeline.accounts.users import add_user, list_users, set_active, set_password, set_role
from pipeline.errors import SraditError

require("admin")
st.title("Users")
engine = ready_engine()
if engine is None:
    st.stop()
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
    action = c2.selectbox("Change", ["role", "disable", "enable", "new password"])
    new_role = c3.selectbox("New role (for a role change)", USER_ROLES)
    password = st.text_input("New password (blank: generate one)", type="password")
    if st.form_submit_button("Apply"):
        try:
            if action == "role":
                set_role(engine, name, new_role, user_name())
                st.success(md("{} is now {}; it applies from their next page", name, new_role))
            elif action in ("disable", "enable"):
                if action == "disable" and name == user_name():
                    raise SraditError("you cannot disable your own account")
                set_active(engine, name, action == "enable", user_name())
                st.success(md("{} {}d", name, action))
            else:
                generated = set_password(engine, name, password or None, user_name())
                st.success(md("password of {} changed", name) + (md(": {}", generated) if generated else ""))
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
            st.success(md("Added {} {}", role, name) + (md(" — password: {}", generated) if generated else ""))
