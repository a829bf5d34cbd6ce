"""Sign-in, role-based pages and the home page, rendered by Streamlit's AppTest on a real demo database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from streamlit.testing.v1 import AppTest

from db.engine import make_engine, write_session
from db.models import SigninFailures
from tests.demo_cache import copy_demo
from tests.helpers import ROOT, shown

MAIN = str(ROOT / "app" / "main.py")


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("demo")
    url = copy_demo(folder / "demo.db", folder / "var")
    return url


def signed_in_app(demo_url: str, monkeypatch: pytest.MonkeyPatch, name: str, password: str) -> AppTest:
    monkeypatch.setenv("SRADIT_DB_URL", demo_url)
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_wrong_password_is_refused(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRADIT_DB_URL", demo_url)
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    at.text_input(key="signin_name").input("expert")
    at.text_input(key="signin_password").input("nope")
    at.button[0].click().run()
    assert "wrong password" in shown(at.error[0].value)
    assert "user_id" not in at.session_state


def test_home_shows_what_is_in_the_demo_database(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = signed_in_app(demo_url, monkeypatch, "engineer", "engineer-demo")
    metrics = {shown(m.label): shown(m.value) for m in at.metric}
    assert metrics["EMRs"] == "65" and metrics["Labelled EMRs"] == "60" and metrics["Users"] == "4"
    frames = [d.value for d in at.dataframe]
    datasets = next(f for f in frames if "dataset" in f.columns and "records" in f.columns)
    assert list(datasets["dataset"]) == ["test", "train"]
    rounds = next(f for f in frames if "round" in f.columns)
    assert list(rounds["round"]) == [1] and list(rounds["status"]) == ["in_review"]
    # The first expert's three bests, one of them contradicted by the second expert (a tie to settle), and
    # the second expert's two more.
    assert int(rounds["badcases"][0]) > 0 and int(rounds["selected"][0]) == 4


def test_an_expert_sees_no_engineer_page_and_is_refused_one(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = signed_in_app(demo_url, monkeypatch, "expert", "expert-demo")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/generate.py")  # not in an expert's navigation at all
    # Reached anyway (each page checks the role itself):
    for page in ("generate.py", "users.py", "badcases.py", "jobs.py", "agreement.py"):
        direct = AppTest.from_file(str(ROOT / "app" / "pages" / page), default_timeout=60)
        for key, value in {"user_id": 1, "user_name": "expert", "user_role": "expert"}.items():
            direct.session_state[key] = value
        direct.run()
        assert any("may not open this page" in shown(e.value) for e in direct.error), page


def test_home_explains_a_missing_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRADIT_DB_URL", f"sqlite:///{tmp_path / 'none.db'}")
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    assert not at.exception
    assert "sradit db init" in shown(at.error[0].value)


def test_a_disabled_account_is_signed_out_and_a_new_role_applies_on_the_next_page(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.accounts.users import set_active, set_role

    engine = make_engine(demo_url)
    at = signed_in_app(demo_url, monkeypatch, "expert2", "expert2-demo")
    set_role(engine, "expert2", "engineer", "admin")
    at.run()
    assert at.session_state["user_role"] == "engineer"
    set_role(engine, "expert2", "expert", "admin")
    at = signed_in_app(demo_url, monkeypatch, "expert2", "expert2-demo")
    set_active(engine, "expert2", False, "admin")
    at.run()  # its next page's run signs it out
    assert not at.exception, at.exception
    assert "user_id" not in at.session_state
    set_active(engine, "expert2", True, "admin")


def test_wrong_passwords_in_a_row_are_throttled_with_the_form_kept(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SRADIT_DB_URL", demo_url)
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    messages = []
    for _ in range(20):
        at.text_input(key="signin_name").input("admin")
        at.text_input(key="signin_password").input("not-the-password")
        at.button[0].click().run()
        messages.append(shown(at.error[0].value))
        if messages[-1].startswith("Too many failed sign-ins"):
            break
    assert re.fullmatch(r"Too many failed sign-ins — try again in \d+ s", messages[-1]), messages
    assert at.text_input(key="signin_name").value == "admin"  # the form stays, with what was typed
    from pipeline.accounts import throttle

    # AppTest's connection has no address: the local client, locked for "admin" — unlocking the account lifts it.
    assert throttle.attempt(make_engine(demo_url), "admin", throttle.LOCAL_CLIENT) > 0
    assert throttle.unlock(make_engine(demo_url), "admin", "test") == 1
    with write_session(make_engine(demo_url)) as s:  # the client's own counter keeps it waiting for other names
        assert s.scalar(select(SigninFailures.failures).where(SigninFailures.key == "client:local")) == 5
        s.execute(delete(SigninFailures))  # the module's other tests sign in from this client
