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

from app.auth import may, refresh, resume_from_cookie, role, sign_out, signed_in, user_name, write_cookie  # noqa: E402
from app.inert import md  # noqa: E402

# The favicon is a file of ours, served by the app: a Material icon as favicon is fetched from fonts.gstatic.com,
# a request that leaves a hospital's network on every page (tests/app/test_browser.py counts them).
st.set_page_config(page_title="SRADIT Studio", page_icon=str(Path(__file__).with_name("icon.png")), layout="wide")


def pages(everyone: bool) -> dict[str, list[st.Page]]:
    """The pages of the signed-in account's role, or every page (``everyone``) for the signed-out router, whose
    default is the sign-in form."""
    found: dict[str, list[st.Page]] = {
        "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=not everyone)],
        "Review": [st.Page("pages/review.py", title="Review queue", icon=":material/rate_review:")],
    }
    if everyone or may("engineer"):
        found["Engineering"] = [
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
    if everyone or may("admin"):
        found["Admin"] = [st.Page("pages/users.py", title="Users", icon=":material/group:")]
    return found


resume_from_cookie()  # a reload or a new tab: the session cookie signs the page in
refresh()  # a session ended, a role changed or an account disabled since the last run applies now
if not signed_in():
    from app.signin import sign_in_form

    # The router knows every page but runs none and shows no menu: the page a link asked for (/jobs) stays
    # the current one, so the run after signing in opens it (or Home, when the role may not see it, or when
    # the link was the bare address and the current page is this sign-in form).
    signin_page = st.Page(sign_in_form, title="Sign in", icon=":material/login:", default=True)
    everything = pages(everyone=True)
    everything[""].insert(0, signin_page)
    st.navigation(everything, position="hidden")
    sign_in_form()
    write_cookie()
    st.stop()

with st.sidebar:
    st.caption(md("Signed in as **{}** ({})", user_name(), role()))
    write_cookie()
    if st.button("Sign out"):
        sign_out()
        st.rerun()
try:
    st.navigation(pages(everyone=False)).run()
except Exception as e:  # noqa: BLE001 — st.stop / st.rerun are BaseExceptions and pass through untouched
    # A user never sees a traceback: a message and an id to find it in the server's log.
    error_id = uuid.uuid4().hex[:8]
    logging.getLogger("sradit.app").exception("error %s on page %s (user %s)", error_id, st.context.url, user_name())
    st.error(
        md(
            "Something went wrong on this page ({}). Error id **{}**: the server log holds the details. Reload the "
            "page to try again.",
            type(e).__name__,
            error_id,
        )
    )
