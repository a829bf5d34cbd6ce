"""The sign-in form (accounts come from `sradit user add` or the Users page)."""

from __future__ import annotations

import streamlit as st

from app.auth import client, sign_in
from app.inert import md
from app.state import ready_engine
from pipeline.accounts import throttle
from pipeline.accounts.users import authenticate


def sign_in_form() -> None:
    st.title("SRADIT Studio")
    engine = ready_engine()
    if engine is None:
        return
    with st.form("signin"):
        name = st.text_input("Name", key="signin_name")
        password = st.text_input("Password", type="password", key="signin_password")
        if st.form_submit_button("Sign in", type="primary"):
            # Counted before the password is checked, per account and client and per client (pipeline/accounts/
            # throttle.py); the form and its input stay.
            who = client()
            wait = throttle.attempt(engine, name, who)
            if wait:
                st.error(md("Too many failed sign-ins — try again in {} s", wait))
                return
            found = authenticate(engine, name, password)
            if found is None:
                throttle.failed(engine, name, who)
                st.error("Unknown name or wrong password.")
            else:
                throttle.succeeded(engine, name, who)
                sign_in(found[0], name.strip(), found[1])
                st.rerun()
