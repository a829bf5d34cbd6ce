"""Every page's first draw in a browser session: a real `streamlit run` server on the demo database, Chromium
driven by Playwright as an admin (who sees every page).

A session signs in, then opens each page once from the sidebar: the time from the click to the page's title on
screen with the script finished and nothing stale (what a person waits for). The first session after the server
started also pays the server's imports; it is printed on its own line, and the figures per page come from the
sessions after it (median [min–max] over them). Target (issue 27): each page at most 2 s on two idle cores with
the demo database.

    python bench/bench_pages.py [--sessions 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, spread

from tests.app.browser import ARGS, CHROMIUM, serve

TARGET_S = 2.0
#: sidebar link → the title the page draws (the review board draws none: its screen is the text being judged)
PAGES: dict[str, str | None] = {
    "Home": "SRADIT Studio",
    "Review queue": None,
    "Rounds": "Rounds",
    "Badcases": "Badcases",
    "Label issues": "Label issues",
    "Generate": "Generate",
    "Agreement": "Agreement",
    "Export": "Export",
    "Training": "Training",
    "Models": "Models",
    "Jobs": "Jobs",
    "Users": "Users",
}
SETTLED = (
    "() => { const app = document.querySelector('[data-testid=stApp]');"
    " return app && app.getAttribute('data-test-script-state') === 'notRunning'"
    " && !document.querySelector('[data-stale=true]'); }"
)


def _demo(tmp: str) -> str:
    """`sradit demo` into ``tmp``: the database URL."""
    db_url = f"sqlite:///{tmp}/demo.db"
    env = {**os.environ, "SRADIT_DB_URL": db_url, "SRADIT_DATA_DIR": f"{tmp}/var"}
    sradit = Path(sys.executable).parent / "sradit"
    subprocess.run([str(sradit), "demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    return db_url


def _session(browser, url: str) -> dict[str, float]:  # noqa: ANN001
    """One browser session: sign in, then each page once; seconds per page."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.get_by_role("textbox", name="Name").fill("admin")
    page.get_by_role("textbox", name="Password").fill("admin-demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as admin").wait_for(timeout=60_000)
    page.wait_for_function(SETTLED, timeout=60_000)
    times = {}
    for link, title in PAGES.items():
        start = time.perf_counter()
        page.get_by_role("link", name=link, exact=True).click()
        if title is not None:
            page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=120_000)
        else:
            page.wait_for_url(f"**/{link.split()[0].lower()}*", timeout=120_000)
        page.wait_for_function(SETTLED, timeout=120_000)
        times[link] = time.perf_counter() - start
    context.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4, help="timed browser sessions after the first")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp), _demo(tmp)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        first = _session(browser, url)
        runs = [_session(browser, url) for _ in range(args.sessions)]
        browser.close()
    print(f"demo database, chromium 1440×900, first draw of each page in a browser session ({os.cpu_count()} cores)")
    print(
        "first session after the server started (its imports included): "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in first.items())
    )
    worst = 0.0
    for name in PAGES:
        values = [r[name] for r in runs]
        worst = max(worst, max(values))
        print(f"  {name:<14} {spread(values, ' s')}")
    print(f"slowest draw {worst:.2f} s: {'met' if worst <= TARGET_S else 'MISSED'} (target ≤ {TARGET_S:.0f} s a page)")


if __name__ == "__main__":
    main()
