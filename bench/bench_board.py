"""The variant board's expert-side latency: a key press in chromium until the board has repainted.

A real `streamlit run` server on a database of 300 badcases × 20 variants (about 14 pass per badcase) and
earlier reviews, driven by Playwright like an expert: J (focus the next variant: a rerun, no write) and A
(approve the focused variant: a decision written, the focus on the next undecided one). Each figure is the
time from the key press to the focused card showing its new state; the run's end is waited for (not timed)
before the next key, as an expert reading would.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import bench_review
from common import ROOT

FOCUSED = ".st-key-board_focused"
CHANGED = (
    "before => { const el = document.querySelector('.st-key-board_focused'); return el && el.innerText !== before; }"
)
SETTLED = (
    "() => { const app = document.querySelector('[data-testid=stApp]');"
    " return app && app.getAttribute('data-test-script-state') === 'notRunning'"
    " && !document.querySelector('[data-stale=true]'); }"
)


def figures(values: list[float]) -> str:
    """median, with the spread: interquartile range, p95, min–max."""
    v = sorted(values)
    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
    p95 = v[min(len(v) - 1, round(0.95 * (len(v) - 1)))]
    ms = lambda x: f"{x * 1000:.0f}"  # noqa: E731
    return (
        f"median {ms(statistics.median(v))} ms, IQR {ms(q[0])}–{ms(q[2])} ms, p95 {ms(p95)} ms, "
        f"min–max {ms(v[0])}–{ms(v[-1])} ms, n={len(v)}"
    )


def measure(url: str, n: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"j": [], "a": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"],
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url)
        page.get_by_role("textbox", name="Name").fill("e5")
        page.get_by_role("textbox", name="Password").fill("bench-pass")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Review queue").click()
        page.locator(FOCUSED).wait_for(timeout=60_000)
        page.wait_for_function(SETTLED, timeout=60_000)

        def timed(key: str) -> float:
            before = page.locator(FOCUSED).inner_text()
            page.wait_for_timeout(150)  # a person between two keys
            t = time.perf_counter()
            page.keyboard.press(key)
            page.wait_for_function(CHANGED, arg=before, timeout=60_000)
            elapsed = time.perf_counter() - t
            page.wait_for_function(SETTLED, timeout=60_000)
            return elapsed

        for i in range(n):
            # J at the last card changes nothing: K then (the same work, the other way).
            times["j"].append(timed("k" if i % 2 else "j"))
        while len(times["a"]) < n:
            if "undecided" not in page.locator(FOCUSED).inner_text():
                before = page.locator(FOCUSED).inner_text()
                page.keyboard.press("n")  # this badcase is done: the next one (not timed)
                page.wait_for_function(CHANGED, arg=before, timeout=60_000)
                page.wait_for_function(SETTLED, timeout=60_000)
                continue
            times["a"].append(timed("a"))
        browser.close()
    return times


def main() -> None:
    if not Path("/usr/bin/chromium").exists():
        print("skipped: /usr/bin/chromium is not installed")
        return
    bench_review.BADCASES, bench_review.VARIANTS, bench_review.REVIEWS = 300, 20, 400
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/board.db"
        bench_review.build(db_url)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"), "--server.port", str(port)]
            + ["--server.headless", "true", "--server.fileWatcherType", "none"],
            env={**os.environ, "SRADIT_DB_URL": db_url, "SRADIT_DATA_DIR": f"{tmp}/var"},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.5)
            times = measure(url, n=int(os.environ.get("SRADIT_BENCH_N", "30")))
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)
    print(f"database: {bench_review.BADCASES} badcases × {bench_review.VARIANTS} variants, chromium 1440×900")
    print(f"board, J (focus the next variant) key press → repaint   {figures(times['j'])}")
    print(f"board, A (approve, written) key press → repaint         {figures(times['a'])}")


if __name__ == "__main__":
    main()
