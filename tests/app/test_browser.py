"""The real app in a real browser: `streamlit run` on a free port, driven by Playwright with Debian's
chromium. CI installs chromium; its absence fails the suite (no skip)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from app.services.demo import build_demo
from db.engine import make_engine, read_session
from db.models import Review, User
from pipeline.settings import Settings
from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite:///{folder / 'demo.db'}"
    engine = make_engine(db_url)
    build_demo(engine, Settings(db_url=db_url, data_dir=folder / "var"), force=False)
    port = _free_port()
    env = {**os.environ, "SRADIT_DB_URL": db_url, "SRADIT_DATA_DIR": str(folder / "var")}
    log = (folder / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app" / "main.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"streamlit did not start; see {log.name}")
        time.sleep(0.5)
    yield url, db_url
    os.killpg(proc.pid, 15)
    proc.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (the browser suite never skips)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def sign_in(page: Page, url: str, name: str, password: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible(timeout=30_000)


def open_queue(page: Page) -> None:
    page.get_by_role("link", name="Review queue").click()
    expect(page.get_by_text("keys: 1–5 score")).to_be_visible(timeout=30_000)
    _settle(page)


def header(page: Page) -> str:
    return page.locator("h3").filter(has_text="variant").first.inner_text()


def press_and_wait(page: Page, key: str, before: str) -> str:
    """Press a shortcut and wait until another variant is on screen."""
    page.keyboard.press(key)
    return _wait_change(page, before)


def reviews(db_url: str, name: str) -> list[Review]:
    with read_session(make_engine(db_url)) as s:
        uid = s.scalar(select(User.id).where(User.name == name))
        return list(s.scalars(select(Review).where(Review.reviewer_id == uid).order_by(Review.id)))


def test_expert_reviews_with_the_keyboard_alone(browser: Browser, app_url: tuple[str, str]) -> None:
    url, db_url = app_url
    page = browser.new_page()
    sign_in(page, url, "expert", "expert-demo")
    open_queue(page)
    before = len(reviews(db_url, "expert"))
    first = header(page)
    page.keyboard.press("4")  # score 4 …
    expect(page.locator(".st-key-score_4 button")).to_have_attribute("kind", "primary", timeout=30_000)
    _settle(page)
    second = press_and_wait(page, "a", first)  # … approve
    third = press_and_wait(page, "x", second)  # reject
    fourth = press_and_wait(page, "b", third)  # best: its badcase is done for this expert
    back = press_and_wait(page, "u", fourth)  # undo the best
    assert back == third
    rows = reviews(db_url, "expert")[before:]
    assert [(r.decision, r.score, r.best, r.undone_at is not None) for r in rows] == [
        ("approve", 4, False, False),
        ("reject", None, False, False),
        ("approve", None, True, True),
    ]
    assert all(r.seconds is not None and r.seconds >= 0 for r in rows)
    page.close()


def test_an_expert_cannot_reach_an_engineer_page(browser: Browser, app_url: tuple[str, str]) -> None:
    url, _ = app_url
    page = browser.new_page()
    sign_in(page, url, "expert", "expert-demo")
    expect(page.get_by_role("link", name="Review queue")).to_be_visible()
    assert page.get_by_role("link", name="Generate").count() == 0
    page.goto(f"{url}/generate")  # by URL: a new session, signed out
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
    sign_in(page, url + "/generate", "expert", "expert-demo")
    expect(page.get_by_text("Run the filter chain")).to_have_count(0)
    page.close()


def test_two_experts_at_once_lose_no_decision(browser: Browser, app_url: tuple[str, str]) -> None:
    url, db_url = app_url
    a, b = browser.new_context().new_page(), browser.new_context().new_page()
    sign_in(a, url, "expert", "expert-demo")
    sign_in(b, url, "expert2", "expert2-demo")
    open_queue(a)
    open_queue(b)
    before_a, before_b = len(reviews(db_url, "expert")), len(reviews(db_url, "expert2"))
    ha, hb = header(a), header(b)
    for _ in range(3):  # interleaved: both sessions write to the same round at the same time
        a.keyboard.press("a")
        b.keyboard.press("a")
        ha = _wait_change(a, ha)
        hb = _wait_change(b, hb)
    assert len(reviews(db_url, "expert")) - before_a == 3
    assert len(reviews(db_url, "expert2")) - before_b == 3


def _wait_change(page: Page, before: str) -> str:
    page.wait_for_function(
        "before => { const h = [...document.querySelectorAll('h3')].find(e => e.innerText.includes('variant'));"
        " return h && h.innerText !== before; }",
        arg=before,
        timeout=60_000,
    )
    _settle(page)
    return header(page)


def _settle(page: Page) -> None:
    """Wait until the script run has finished and nothing on the page is stale, as a person would before the
    next key: the new header arrives mid-run, and a key pressed then raced the run's end on a loaded CI machine."""
    page.wait_for_function(
        "() => { const app = document.querySelector('[data-testid=stApp]');"
        " return app && app.getAttribute('data-test-script-state') === 'notRunning'"
        " && !document.querySelector('[data-stale=true]'); }",
        timeout=60_000,
    )


ROLE_PAGES = {
    "expert": ["Home", "Review queue"],
    "engineer": [
        "Home",
        "Review queue",
        "Rounds",
        "Badcases",
        "Label issues",
        "Generate",
        "Agreement",
        "Export",
        "Training",
        "Models",
        "Jobs",
    ],
    "admin": ["Users"],
}


@pytest.mark.parametrize("account", ["expert", "engineer", "admin"])
def test_every_page_as_every_role_draws_without_an_error(
    browser: Browser, app_url: tuple[str, str], account: str
) -> None:
    """Each role's pages on the demo database: no traceback, no exception element, no rendered docstring."""
    url, _ = app_url
    page = browser.new_context().new_page()
    sign_in(page, url, account, f"{account}-demo")
    names = ROLE_PAGES[account] if account != "admin" else ROLE_PAGES["engineer"] + ROLE_PAGES["admin"]
    for name in names:
        page.get_by_role("link", name=name, exact=True).click()
        page.wait_for_timeout(300)  # the run the click starts, before waiting for it to end
        _settle(page)
        text = page.locator("section.main, [data-testid='stMain']").first.inner_text()
        assert page.locator("[data-testid='stException']").count() == 0, f"{account} · {name}: an exception"
        for bad in ("Traceback (most recent call last)", "DeltaGenerator", "Something went wrong"):
            assert bad not in text, f"{account} · {name}: {bad!r} on the page"


def test_an_engineer_accepts_a_label_issue_in_the_browser(browser: Browser, app_url: tuple[str, str]) -> None:
    """The demo expert's flag of a badcase's gold codes reaches the engineer's Label issues page; accepting it there
    makes a relabelled dataset version."""
    from db.models import Dataset, LabelIssue

    url, db_url = app_url
    engine = make_engine(db_url)
    with read_session(engine) as s:
        flagged = s.scalars(select(LabelIssue).where(LabelIssue.status == "open")).all()
    assert len(flagged) == 1 and flagged[0].flagged_by == "expert"
    issue = flagged[0].id
    page = browser.new_context().new_page()
    sign_in(page, url, "engineer", "engineer-demo")
    page.get_by_role("link", name="Label issues", exact=True).click()
    expect(page.get_by_text(f"Issue {issue}", exact=False).first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("why: the discharge summary also names")).to_be_visible()
    _settle(page)
    note = page.get_by_role("textbox", name="Note (optional)")
    note.fill("checked the chart")
    note.press("Enter")  # the value reaches the server (a run) before the button is pressed
    page.wait_for_timeout(300)
    _settle(page)
    page.get_by_role("button", name="Accept: new dataset version").click()
    expect(page.get_by_text(f"dataset train@L{issue} (from train) is ready")).to_be_visible(timeout=30_000)
    with read_session(engine) as s:
        row = s.get(LabelIssue, issue)
        assert row is not None and row.status == "accepted" and row.resolved_by == "engineer"
        assert row.resolution_note == "checked the chart"
        assert s.scalar(select(Dataset.name).where(Dataset.id == row.dataset_id)) == f"train@L{issue}"
    engine.dispose()
