"""The Users page (admins), rendered by Streamlit's AppTest on a real database: it lifts an account's sign-in locks,
lists who is signed in and ends a session — each audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from db.engine import read_session
from db.models import AuditEntry
from pipeline.accounts import sessions, throttle
from pipeline.accounts.users import add_user, authenticate
from tests.helpers import ROOT, as_user, shown

PAGE = str(ROOT / "app" / "pages" / "users.py")


@pytest.fixture
def page(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    add_user(engine, "root", "admin", "root-password", "t")
    add_user(engine, "li", "expert", "li-password", "t")
    monkeypatch.setenv("SRADIT_DB_URL", db_url)
    monkeypatch.setenv("SRADIT_DATA_DIR", str(tmp_path / "var"))
    return as_user(AppTest.from_file(PAGE, default_timeout=60), engine, "root")


def test_an_admin_unlocks_an_account_locked_by_guesses(engine: Engine, page: AppTest) -> None:
    for _ in range(throttle.FREE_FAILURES):
        throttle.attempt(engine, "li", "10.0.0.7")
    assert throttle.attempt(engine, "li", "10.0.0.7") > 0
    at = page.run()
    next(s for s in at.selectbox if s.label == "Account").select("li")
    next(s for s in at.selectbox if s.label == "Change").select("unlock sign-in")
    next(b for b in at.button if b.label == "Apply").click().run()
    assert not at.exception, at.exception
    assert "li: 1 sign-in counters lifted" in shown(at.success[0].value)
    with read_session(engine) as s:
        assert ("root", "user.unlock", "li") in s.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.target)
        )


def test_an_admin_sees_who_is_signed_in_and_ends_a_session(engine: Engine, page: AppTest) -> None:
    found = authenticate(engine, "li", "li-password")
    assert found is not None
    opened = sessions.issue(engine, found[0], "10.0.0.7", hours=1)
    at = page.run()
    table = at.dataframe[1].value  # accounts, then sessions
    assert list(table["name"]) == ["li"] and list(table["client"]) == ["10.0.0.7"]
    next(b for b in at.button if b.label == "End this session").click().run()
    assert not at.exception, at.exception
    assert f"session {opened.session_id} ended" in shown(at.success[0].value)
    assert sessions.resume(engine, opened.token) is None  # its cookie signs no one in now
    with read_session(engine) as s:
        entry = s.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.target)).all()
    assert ("root", "session.revoke", "li") in entry


def test_an_account_just_added_is_in_the_table_and_the_change_form_at_once(engine: Engine, page: AppTest) -> None:
    """It was in neither until a reload, so "add, then set a role or disable" was impossible (issue 27)."""
    at = page.run()
    next(t for t in at.text_input if t.label == "Name").input("wang")
    next(b for b in at.button if b.label == "Add user").click().run()
    assert not at.exception, at.exception
    assert shown(at.success[0].value).startswith("Added expert wang — password: ")
    assert "wang" in list(at.dataframe[0].value["name"])
    assert "wang" in next(s for s in at.selectbox if s.label == "Account").options
