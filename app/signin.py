"""The sign-in form (accounts come from `sradit user add` or the Users page)."""

from __future__ import annotations

import streamlit as st

from app.auth import sign_in
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
            # Per account name typed (known or not) and per client address; the form and its input stay.
            counted = throttle.keys(name, st.context.ip_address)
            wait = throttle.wait_seconds(engine, counted)
            if wait:
                st.error(md("Too many failed sign-ins — try again in {} s", wait))
                return
            found = authenticate(engine, name, password)
            if found is None:
                throttle.record_failure(engine, counted)
                st.error("Unknown name or wrong password.")
            else:
                throttle.clear(engine, counted)
                sign_in(found[0], name.strip(), found[1])
                st.rerun()
