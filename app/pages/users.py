"""Users (admins): list and add accounts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.state import ready_engine
from db.models import ROLES
from pipeline.accounts.users import add_user, list_users
from pipeline.errors import SraditError

require("admin")
st.title("Users")
engine = ready_engine()
if engine is None:
    st.stop()
st.dataframe(pd.DataFrame(list_users(engine), columns=["name", "role", "active", "created (UTC)"]), hide_index=True)
with st.form("add_user", clear_on_submit=True):
    c1, c2, c3 = st.columns(3)
    name = c1.text_input("Name")
    role = c2.selectbox("Role", ROLES)
    password = c3.text_input("Password (blank: generate one)", type="password")
    if st.form_submit_button("Add user"):
        try:
            generated = add_user(engine, name, role, password or None, user_name())
        except SraditError as e:
            st.error(str(e))
        else:
            st.success(f"Added {role} {name}" + (f" — password: {generated}" if generated else ""))
