"""Sessions in the app, rendered by Streamlit's AppTest on a real demo database: signing in writes the session
cookie, the expiry setting sets its Max-Age, a session ended elsewhere signs the page out and clears the
cookie. AppTest cannot send cookies (its client is a stand-in), and after the first signed-in run it runs the
page's script without app/main.py (each AppTest run starts Streamlit's old multipage mode again), so a reload
signing in from the cookie, the deep link and the sign-out button are checked in a real browser
(tests/app/test_browser.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.engine import make_engine, read_session
from db.models import UserSession
from pipeline.accounts import sessions
from tests.demo_cache import copy_demo
from tests.helpers import ROOT

MAIN = str(ROOT / "app" / "main.py")
COOKIE = re.compile(
    r'document\.cookie = "(sradit_session_[\w-]+)" \+ \'=\' \+ (?:"([\w-]+)" \+ )?"; Path=/; Max-Age=(\d+); '
    r'SameSite=Strict" \+ \(location\.protocol === "https:" \? "; Secure" : ""\);'
)


@pytest.fixture(autouse=True)
def _fresh_resources() -> Iterator[None]:
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("demo")
    url = copy_demo(folder / "demo.db", folder / "var")
    return url


def _cookie_scripts(at: AppTest) -> list[tuple[str, str | None, int]]:
    """(cookie name, token or None when cleared, Max-Age) of each cookie script on the page."""
    found = []
    for element in at.get("html"):
        match = COOKIE.search(element.proto.body)
        assert match is not None, element.proto.body
        assert element.proto.unsafe_allow_javascript
        found.append((match[1], match[2], int(match[3])))
    return found


def _signed_in(monkeypatch: pytest.MonkeyPatch, demo_url: str, hours: str = "12") -> AppTest:
    monkeypatch.setenv("SRADIT_DB_URL", demo_url)
    monkeypatch.setenv("SRADIT_SESSION_HOURS", hours)
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    assert _cookie_scripts(at) == []  # no cookie before anyone signs in
    at.text_input(key="signin_name").input("expert")
    at.text_input(key="signin_password").input("expert-demo")
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def _row(demo_url: str, token: str) -> UserSession:
    with read_session(make_engine(demo_url)) as s:
        row = s.scalar(select(UserSession).where(UserSession.token_hash == sessions.token_hash(token)))
        assert row is not None
        return row


def test_signing_in_writes_the_session_cookie_and_stores_only_its_hash(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _signed_in(monkeypatch, demo_url)
    [(name, token, max_age)] = _cookie_scripts(at)
    assert name.startswith("sradit_session_demo-") and token is not None
    assert 12 * 3600 - 60 < max_age <= 12 * 3600
    row = _row(demo_url, token)
    assert row.id == at.session_state["session_id"] and row.revoked_at is None and row.token_hash != token
    assert sessions.resume(make_engine(demo_url), token) is not None  # what a reload sends back signs in


def test_the_expiry_setting_sets_the_cookies_max_age(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _signed_in(monkeypatch, demo_url, hours="2")
    [(_, token, max_age)] = _cookie_scripts(at)
    assert 2 * 3600 - 60 < max_age <= 2 * 3600
    assert token is not None
    row = _row(demo_url, token)
    assert abs((row.expires_at - row.created_at).total_seconds() - 2 * 3600) < 1


def test_a_session_ended_elsewhere_signs_the_page_out_on_its_next_run(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _signed_in(monkeypatch, demo_url)
    sessions.revoke(make_engine(demo_url), int(at.session_state["session_id"]), "admin")  # sign-out in another tab
    at.run()
    assert not at.exception, at.exception
    assert "user_id" not in at.session_state
    assert [b.label for b in at.button] == ["Sign in"]
    assert [(token, max_age) for _, token, max_age in _cookie_scripts(at)] == [(None, 0)]
