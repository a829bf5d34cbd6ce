"""The Streamlit entry point: ``streamlit run app/main.py``. Only routing lives here: the pages an
account sees depend on its role (each page also checks the role itself)."""

from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path

# `streamlit run app/main.py` puts app/ on sys.path, not the project root that holds our packages.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from app.auth import may, refresh, role, sign_out, signed_in, user_name  # noqa: E402
from app.inert import inert  # noqa: E402

st.set_page_config(page_title="SRADIT Studio", page_icon=":material/stethoscope:", layout="wide")

refresh()  # a role changed or an account disabled since the last run applies now
if not signed_in():
    # Drawn without st.navigation, so that after signing in the router starts fresh on the default page.
    from app.signin import sign_in_form

    sign_in_form()
    st.stop()

pages: dict[str, list[st.Page]] = {
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Review": [st.Page("pages/review.py", title="Review queue", icon=":material/rate_review:")],
}
if may("engineer"):
    pages["Engineering"] = [
        st.Page("pages/rounds.py", title="Rounds", icon=":material/autorenew:"),
        st.Page("pages/badcases.py", title="Badcases", icon=":material/search:"),
        st.Page("pages/labels.py", title="Label issues", icon=":material/flag:"),
        st.Page("pages/generate.py", title="Generate", icon=":material/edit_note:"),
        st.Page("pages/agreement.py", title="Agreement", icon=":material/handshake:"),
        st.Page("pages/export.py", title="Export", icon=":material/inventory_2:"),
        st.Page("pages/training.py", title="Training", icon=":material/model_training:"),
        st.Page("pages/models.py", title="Models", icon=":material/hub:"),
        st.Page("pages/jobs.py", title="Jobs", icon=":material/settings:"),
    ]
if may("admin"):
    pages["Admin"] = [st.Page("pages/users.py", title="Users", icon=":material/group:")]

with st.sidebar:
    st.caption(f"Signed in as **{inert(user_name())}** ({role()})")
    if st.button("Sign out"):
        sign_out()
        st.rerun()
try:
    st.navigation(pages).run()
except Exception as e:  # noqa: BLE001 — st.stop / st.rerun are BaseExceptions and pass through untouched
    # A user never sees a traceback: a message and an id to find it in the server's log.
    error_id = uuid.uuid4().hex[:8]
    logging.getLogger("sradit.app").exception("error %s on page %s (user %s)", error_id, st.context.url, user_name())
    st.error(
        f"Something went wrong on this page ({type(e).__name__}). Error id **{error_id}**: the server log holds "
        "the details. Reload the page to try again."
    )
