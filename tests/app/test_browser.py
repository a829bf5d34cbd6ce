"""The real app in a real browser: `streamlit run` on a free port, driven by Playwright with Debian's
chromium. CI installs chromium; its absence fails the suite (no skip)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from db.engine import make_engine, read_session, write_session
from db.models import Job, LabelIssue, Record, Review, User, UserSession
from pipeline.accounts.sessions import token_hash
from tests.app.browser import serve, settle, sign_in


def open_queue(page: Page) -> None:
    """The Review queue in its one-at-a-time view (the page opens on the board)."""
    page.get_by_role("link", name="Review queue").click()
    expect(page.get_by_text("keys: J/K move")).to_be_visible(timeout=30_000)
    settle(page)
    page.get_by_text("One at a time").click()
    expect(page.get_by_text("keys: 1–5 score")).to_be_visible(timeout=30_000)
    settle(page)


def header(page: Page) -> str:
    return page.locator("h3").filter(has_text="Variant").first.inner_text()


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
    settle(page)
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
    page.goto(f"{url}/generate")  # by URL: a new page load, still signed in by the session cookie
    expect(page.get_by_text("Signed in as expert")).to_be_visible(timeout=30_000)
    settle(page)
    expect(page.get_by_text("Run the filter chain")).to_have_count(0)
    signed_out = browser.new_page()  # signed out, the same link: after signing in, not on Generate either
    sign_in(signed_out, url + "/generate", "expert", "expert-demo")
    settle(signed_out)
    expect(signed_out.get_by_text("Run the filter chain")).to_have_count(0)
    expect(signed_out.get_by_role("heading", name="SRADIT Studio")).to_be_visible()
    page.close()
    signed_out.close()


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


def _session_cookie(context: BrowserContext) -> dict[str, Any] | None:
    found = [c for c in context.cookies() if c["name"].startswith("sradit_session_")]
    assert len(found) <= 1, found
    return dict(found[0]) if found else None


def _session_row(db_url: str, token: str) -> UserSession | None:
    with read_session(make_engine(db_url)) as s:
        return s.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))


def test_a_reload_keeps_you_signed_in_and_sign_out_ends_the_session(browser: Browser, app_url: tuple[str, str]) -> None:
    url, db_url = app_url
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, url, "engineer", "engineer-demo")
    settle(page)
    # The page's script sets the cookie once the browser has drawn it: waited for, not raced.
    page.wait_for_function("() => document.cookie.includes('sradit_session_')", timeout=30_000)
    cookie = _session_cookie(context)
    assert cookie is not None, "no session cookie after signing in"
    assert cookie["path"] == "/" and cookie["sameSite"] == "Strict" and not cookie["secure"]  # served over http
    assert time.time() + 11.9 * 3600 < cookie["expires"] <= time.time() + 12 * 3600 + 60
    row = _session_row(db_url, cookie["value"])
    assert row is not None and row.revoked_at is None and row.token_hash != cookie["value"]

    page.get_by_role("link", name="Jobs", exact=True).click()
    # Home has a "Jobs" heading too: the Jobs page is open once the address says so (else the reload raced it)
    expect(page).to_have_url(re.compile(r"/jobs/?$"), timeout=30_000)
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible(timeout=30_000)
    page.reload()  # a new websocket session: the cookie signs it in, on the same page
    expect(page.get_by_text("Signed in as engineer")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile(r"/jobs/?$"), timeout=30_000)
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)

    settle(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
    page.wait_for_function("() => !document.cookie.includes('sradit_session_')", timeout=30_000)
    row = _session_row(db_url, cookie["value"])
    assert row is not None and row.revoked_at is not None
    page.reload()  # signed out stays signed out
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Signed in as")).to_have_count(0)

    # The old cookie copied back (as a thief would) signs no one in: its row is revoked; the page clears it.
    context.add_cookies([{"name": cookie["name"], "value": cookie["value"], "url": url}])
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
    page.wait_for_function("() => !document.cookie.includes('sradit_session_')", timeout=30_000)
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    context.close()


def test_signing_in_from_a_deep_link_lands_on_that_page(
    browser: Browser, app_url: tuple[str, str], tmp_path: Path
) -> None:
    url, db_url = app_url
    # A server just started, whose first visitor comes by the link (Streamlit's old multipage mode is still on
    # then), and the shared one.
    with serve(tmp_path, db_url) as fresh:
        for base in (fresh, url):
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{base}/jobs")
            expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
            expect(page.get_by_role("link", name="Jobs")).to_have_count(0)  # signed out: no menu, no page
            page.get_by_role("textbox", name="Name").fill("engineer")
            page.get_by_role("textbox", name="Password").fill("engineer-demo")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_text("Signed in as engineer")).to_be_visible(timeout=30_000)
            expect(page.get_by_role("heading", name="Jobs")).to_be_visible(timeout=30_000)
            assert page.url.rstrip("/").endswith("/jobs"), base
            context.close()


def _wait_change(page: Page, before: str) -> str:
    page.wait_for_function(
        "before => { const h = [...document.querySelectorAll('h3')].find(e => e.innerText.includes('Variant'));"
        " return h && h.innerText !== before; }",
        arg=before,
        timeout=60_000,
    )
    settle(page)
    return header(page)


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
        settle(page)
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
    settle(page)
    note = page.get_by_role("textbox", name="Note (optional)")
    note.fill("checked the chart")
    note.press("Enter")  # the value reaches the server (a run) before the button is pressed
    page.wait_for_timeout(300)
    settle(page)
    page.get_by_role("button", name="Accept: new dataset version").click()
    expect(page.get_by_text(f"dataset train@L{issue} (from train) is ready")).to_be_visible(timeout=30_000)
    with read_session(engine) as s:
        row = s.get(LabelIssue, issue)
        assert row is not None and row.status == "accepted" and row.resolved_by == "engineer"
        assert row.resolution_note == "checked the chart"
        assert s.scalar(select(Dataset.name).where(Dataset.id == row.dataset_id)) == f"train@L{issue}"
    engine.dispose()


#: Markdown, HTML, links, a bare URL and an address, each pointing at a port nothing listens on: any request to
#: it, or any element made from it, means a value from data was rendered.
HOSTILE = (
    "![i](http://127.0.0.1:9/img.png) <img src='http://127.0.0.1:9/tag.png'> [l](http://127.0.0.1:9/link) "
    "**b** <b>h</b> http://127.0.0.1:9/bare www.evil.example x@evil.example :red[c] `code`"
)


def test_values_from_data_render_as_text_on_every_page(browser: Browser, app_url: tuple[str, str]) -> None:
    """Hostile Markdown and HTML in record ids, an account's name, a flag's author and a failed training job's
    message (issue 25, section 2): every engineer and admin page draws them as text — no request leaves the app,
    and no image, link or bold element is made from them. The module's last test: it rewrites the shared demo
    database (ids, names) that the tests above read."""
    url, db_url = app_url
    engine = make_engine(db_url)
    with write_session(engine) as s:
        for record in s.scalars(select(Record)):
            record.case_id = f"{HOSTILE} {record.id}"
        s.scalars(select(User).where(User.name == "expert")).one().name = f"{HOSTILE} expert"
        for issue in s.scalars(select(LabelIssue)):
            issue.flagged_by = HOSTILE
        s.add(Job(kind="train-sft", status="failed", message=f"failed on {HOSTILE}", created_by=HOSTILE))
    engine.dispose()

    context = browser.new_context()
    outside: list[str] = []
    # The app's own URLs, data: URLs, and blob: URLs of the app's origin (made in the page itself, e.g. the board
    # component's module) never leave the browser; anything else would.
    own = (url, "data:", f"blob:{url}")
    context.on("request", lambda r: None if r.url.startswith(own) else outside.append(r.url))
    page = context.new_page()
    sign_in(page, url, "admin", "admin-demo")
    # What rendering a value would make: images, links off the page, bold. A heading's own #anchor is Streamlit's.
    made = """[...document.querySelectorAll(
        `[data-testid=stMain] img, [data-testid=stSidebar] img, [data-testid=stMain] a[href]:not([href^="#"]),
         [data-testid=stMain] b, [data-testid=stMain] strong`)]
      .filter(e => (e.getAttribute("src") || e.getAttribute("href") || e.textContent)
        .match(/127\\.0\\.0\\.1:9|evil|^[bh]$/))
      .map(e => e.outerHTML)"""
    seen = 0
    for name in ROLE_PAGES["engineer"] + ROLE_PAGES["admin"]:
        page.get_by_role("link", name=name, exact=True).click()
        page.wait_for_timeout(300)
        settle(page)
        text = page.locator("[data-testid='stMain']").first.inner_text()
        seen += "127.0.0.1:9/img.png" in text.replace("\u200b", "")
        assert page.evaluate(made) == [], f"{name}: elements made from data"
    assert outside == [], outside
    # The values were on the pages, as text: the training job's message, the flag's author, ids in headers.
    assert seen >= 3, seen
    # Every page drawn, and the server log holds no deprecation notice (126 copies of use_container_width's once).
    log = "".join(p.read_text(encoding="utf-8") for p in Path(db_url.removeprefix("sqlite:///")).parent.glob("*.log"))
    notices = [line for line in log.splitlines() if "deprecat" in line.lower() or "will be removed" in line]
    assert notices == [], notices[:3]
    page.close()
    context.close()
