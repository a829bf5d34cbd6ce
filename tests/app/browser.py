"""The browser tests' plumbing: the real app served by `streamlit run` on a free port, Debian's chromium, and the
waits a person makes (signed in, the run over). Fixtures over it are in tests/app/conftest.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.helpers import ROOT

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(folder: Path, db_url: str) -> Iterator[str]:
    """`streamlit run app/main.py` on a free port, stopped afterwards; its log goes to ``folder``."""
    port = free_port()
    env = {**os.environ, "SRADIT_DB_URL": db_url, "SRADIT_DATA_DIR": str(folder / "var")}
    log = (folder / f"streamlit-{port}.log").open("w")
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
    try:
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
        yield url
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()


def sign_in(page: Page, url: str, name: str, password: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible(timeout=30_000)
    wait_session_cookie(page)


def wait_session_cookie(page: Page, seconds: float = 30) -> None:
    """The page's script writes the session cookie a moment after "Signed in as" is drawn; a test that opens
    a new page load right away (on a loaded machine) would race it."""
    deadline = time.monotonic() + seconds
    while not any(c["name"].startswith("sradit_session_") for c in page.context.cookies()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no session cookie {seconds:.0f} s after signing in")
        page.wait_for_timeout(200)


def settle(page: Page) -> None:
    """Wait until the script run has finished and nothing on the page is stale, as a person would before the
    next key: the new header arrives mid-run, and a key pressed then raced the run's end on a loaded CI machine."""
    page.wait_for_function(
        "() => { const app = document.querySelector('[data-testid=stApp]');"
        " return app && app.getAttribute('data-test-script-state') === 'notRunning'"
        " && !document.querySelector('[data-stale=true]'); }",
        timeout=60_000,
    )
