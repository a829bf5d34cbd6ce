"""Who is signed in, and what their role may see. Pages call ``require`` first: a page reached without
the role (by URL, say) shows an error and stops.

A sign-in survives a reload: it starts a database session (pipeline/accounts/sessions.py) whose random token
the page puts into a cookie with a line of JavaScript, because a Streamlit script cannot send a Set-Cookie
header. A reload's websocket request carries the cookie (``st.context.cookies``), and the token signs the
new page in. Being set from JavaScript, the cookie cannot be HttpOnly; what makes it safe is the database
row: it expires, sign-out and a password change revoke it, and only the token's hash is stored."""

from __future__ import annotations

import json

import streamlit as st

from app.inert import md
from db.base import utcnow
from pipeline.errors import SraditError

#: What each role may do, by page group.
ALLOWED: dict[str, set[str]] = {
    "review": {"expert", "engineer", "admin"},
    "engineer": {"engineer", "admin"},
    "admin": {"admin"},
}

#: session_state keys of the cookie to write (token, seconds) or to clear on the next drawn page.
_SET_COOKIE = "_session_cookie_set"
_CLEAR_COOKIE = "_session_cookie_clear"


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


def cookie_name() -> str:
    """One cookie per database, so two servers on one host (cookies ignore the port) keep their sessions."""
    from app.state import settings
    from pipeline.settings import database_key

    return f"sradit_session_{database_key(settings().db_url)}"


def refresh() -> None:
    """Check the session and the account again: a session ended elsewhere (sign-out in another tab, a password
    change, expiry) or a disabled or deleted account is signed out, a changed role applies now."""
    if not signed_in():
        return
    from app.state import engine
    from pipeline.accounts import sessions
    from pipeline.accounts.users import account

    if "session_id" in st.session_state:
        active = sessions.check(engine(), int(st.session_state["session_id"]), user_id())
        found = (active.name, active.role) if active is not None else None
    else:  # signed in without a browser session (a page's AppTest seeds the user directly)
        found = account(engine(), user_id())
    if found is None:
        sign_out()  # the next run draws the sign-in form
        return
    st.session_state.update(user_name=found[0], user_role=found[1])


def resume_from_cookie() -> None:
    """Sign in from the cookie the page was loaded with (a reload, a new tab, a link opened). An unknown,
    expired or revoked token is cleared and the sign-in form shows."""
    if signed_in():
        return
    token = st.context.cookies.get(cookie_name())
    if not isinstance(token, str) or not token:  # AppTest's stand-in client has no real cookies
        return
    from app.state import engine
    from pipeline.accounts import sessions
    from pipeline.database import require_schema

    try:
        require_schema(engine())
    except SraditError:
        return  # the sign-in form says what is wrong with the database
    active = sessions.resume(engine(), token)
    if active is None:
        st.session_state[_CLEAR_COOKIE] = True
        return
    st.session_state.update(
        user_id=active.user_id, user_name=active.name, user_role=active.role, session_id=active.session_id
    )


def _route_through_main() -> None:
    """Streamlit's old multipage mode runs a script of app/pages/ on its own, without app/main.py, until some
    run in this server process has called st.navigation: a fresh server's first visitor arriving on a link
    (/jobs) would get a list of every page and no sign-in form. Switching that mode off and running again
    sends the visit through app/main.py, which signs in from the cookie or draws the form, and keeps the page
    asked for. Only a signed-out visit needs it (signing in goes through app/main.py), so no click is lost."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def require(group: str) -> None:
    refresh()
    if not signed_in():
        _route_through_main()
        st.warning("Please sign in.")
        st.stop()
    if not may(group):
        st.error(md("Your role ({}) may not open this page.", role()))
        st.stop()


def client() -> str:
    """Who is connected, for throttling and the sessions table: the address the server saw, "local" without one,
    "forwarded" through a proxy the settings do not trust (SRADIT_TRUSTED_PROXIES)."""
    from app.state import settings
    from pipeline.accounts.throttle import client_of

    address = st.context.ip_address
    forwarded = st.context.headers.get("X-Forwarded-For")
    return client_of(address if isinstance(address, str) else None, forwarded, settings().proxies)


def sign_in(uid: int, name: str, user_role: str) -> None:
    """Start a session for a user whose password was just checked; the next drawn page writes its cookie."""
    from app.state import engine, settings
    from pipeline.accounts import sessions

    issued = sessions.issue(engine(), uid, client(), settings().session_hours)
    st.session_state.update(user_id=uid, user_name=name, user_role=user_role, session_id=issued.session_id)
    st.session_state[_SET_COOKIE] = (issued.token, issued.expires_at)
    st.session_state.pop(_CLEAR_COOKIE, None)


def sign_out() -> None:
    """End the session in the database (a reload, or the cookie copied elsewhere, no longer signs in) and
    clear the cookie on the next drawn page."""
    if "session_id" in st.session_state:
        from app.state import engine
        from pipeline.accounts import sessions

        sessions.revoke(engine(), int(st.session_state["session_id"]), actor=str(st.session_state.get("user_name")))
    for key in list(st.session_state):
        del st.session_state[key]
    st.session_state[_CLEAR_COOKIE] = True


def write_cookie() -> None:
    """Draw the script that sets or clears the session cookie, when a sign-in in this tab or a sign-out asked
    for one. Drawn on every run after that, not once: a run cut short by the next one may never have run its
    script in the browser, and the cookie must not depend on that. SameSite=Strict: no other site's page sends
    it; Secure whenever the page came over https; Max-Age counts down to the session's expiry."""
    name = json.dumps(cookie_name())
    secure = '(location.protocol === "https:" ? "; Secure" : "")'
    if signed_in() and _SET_COOKIE in st.session_state:
        token, expires_at = st.session_state[_SET_COOKIE]
        seconds = max(1, int((expires_at - utcnow()).total_seconds()))
        value = f'{json.dumps(token)} + "; Path=/; Max-Age={seconds}; SameSite=Strict" + {secure}'
    elif not signed_in() and st.session_state.get(_CLEAR_COOKIE, False):
        value = f'"; Path=/; Max-Age=0; SameSite=Strict" + {secure}'
    else:
        return
    st.html(f"<script>document.cookie = {name} + '=' + {value};</script>", unsafe_allow_javascript=True)
