"""The variant board's expert-side latency: a key press in chromium until the page shows its effect, beside the
one-at-a-time view in the same run.

A real `streamlit run` server on a database of 300 badcases × 20 variants (about 14 pass per badcase) and earlier
reviews, driven by Playwright like an expert, 30 presses per key (``SRADIT_BENCH_N``). Each figure is taken in the
page: from the keydown event (a window listener that runs before the board's own) to the animation frame in which
the change is in the DOM (checked every frame), so Playwright's own round trips are not in it.

- board J / K: the focused card is another one (and the reading pane with it: one render);
- board A / X / B: the card that had focus shows its new decision; beside it, the same key until Python has
  written the decision and acknowledged it (the page's run over);
- one at a time A / X / B: the next variant's header on screen (each key is a run of the page).

Between two keys the bench waits until the page's run is over and 150 ms more, as an expert reading would.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import bench_review

from tests.app.browser import ARGS, CHROMIUM, serve

SETTLED = (
    "() => { const app = document.querySelector('[data-testid=stApp]');"
    " return app && app.getAttribute('data-test-script-state') === 'notRunning'"
    " && !document.querySelector('[data-stale=true]')"
    " && !(window.__sraditBoard && window.__sraditBoard.pending.length); }"
)
#: Arms a timer for the next keydown: t0 at the key, t1 at the first animation frame where ``done(arg)`` holds.
ARM = """([done, arg]) => {
  const test = new Function('arg', 'return (' + done + ')(arg)');
  window.__bench = {};
  window.addEventListener('keydown', () => {
    window.__bench.t0 = performance.now();
    const check = () => { if (test(arg)) window.__bench.t1 = performance.now(); else requestAnimationFrame(check); };
    requestAnimationFrame(check);
  }, { capture: true, once: true });
}"""
FOCUSED = "arg => { const c = document.querySelector('.sb-card.focused'); return c && c.dataset.variant !== arg; }"
DECIDED = (
    "arg => { const b = document.querySelector(`.sb-card[data-variant='${arg[0]}'] .sb-badge`);"
    " return b && b.innerText.startsWith(arg[1]); }"
)
SAVED = "arg => !window.__sraditBoard.pending.length"
HEADER = (
    "arg => { const h = [...document.querySelectorAll('h3')].find(e => e.innerText.includes('Variant'));"
    " return h && h.innerText !== arg; }"
)
BADGE = {"a": "✓ approved", "x": "✗ rejected", "b": "✓ approved · ★ best"}


def figures(values: list[float]) -> str:
    """median, with the spread: interquartile range, p95, min–max (milliseconds)."""
    v = sorted(values)
    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
    p95 = v[min(len(v) - 1, round(0.95 * (len(v) - 1)))]
    return (
        f"median {statistics.median(v):.0f} ms, IQR {q[0]:.0f}–{q[2]:.0f} ms, p95 {p95:.0f} ms, "
        f"min–max {v[0]:.0f}–{v[-1]:.0f} ms, n={len(v)}"
    )


def measure(url: str, n: int) -> dict[str, list[float]]:
    from playwright.sync_api import Page, sync_playwright

    times: dict[str, list[float]] = {}

    def settle(page: Page) -> None:
        page.wait_for_function(SETTLED, timeout=60_000)
        page.wait_for_timeout(150)  # a person between two keys

    def timed(page: Page, key: str, done: str, arg: Any, label: str, then: tuple[str, str] | None = None) -> None:
        page.evaluate(ARM, [done, arg])
        page.keyboard.press(key)
        page.wait_for_function("() => window.__bench.t1 !== undefined", timeout=60_000)
        found = page.evaluate("window.__bench")
        times.setdefault(label, []).append(found["t1"] - found["t0"])
        if then is not None:  # the same key until its write is acknowledged (armed before it was pressed)
            page.wait_for_function(SAVED, timeout=60_000)
            times.setdefault(then[0], []).append(page.evaluate("performance.now()") - found["t0"])
        settle(page)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url)
        page.get_by_role("textbox", name="Name").fill("e5")
        page.get_by_role("textbox", name="Password").fill("bench-pass")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Review queue").click()
        page.locator(".sb-card.focused").wait_for(timeout=60_000)
        settle(page)

        def focused() -> str:
            """The focused card's variant id: unique across badcases."""
            return page.locator(".sb-card.focused").get_attribute("data-variant") or ""

        # J down to the last card, K back up to the first, again until each has n presses (about 14 cards pass)
        span = page.locator(".sb-card").count() - 1
        while len(times.get("board K", [])) < n:
            for key in ("j", "k"):
                for _ in range(min(span, n - len(times.get(f"board {key.upper()}", [])))):
                    timed(page, key, FOCUSED, focused(), f"board {key.upper()}")
        for key in ("a", "x", "b"):
            while len(times.get(f"board {key.upper()}", [])) < n:
                card = page.locator(".sb-card.focused")
                if "undecided" not in card.inner_text():  # this badcase is done: the next one (not timed)
                    before = focused()
                    page.keyboard.press("n")
                    page.wait_for_function(FOCUSED, arg=before, timeout=60_000)
                    settle(page)
                    continue
                vid = card.get_attribute("data-variant")
                timed(page, key, DECIDED, [vid, BADGE[key]], f"board {key.upper()}", ("board written", ""))
                if key == "b":  # a best finishes the badcase: on to the next one (not timed)
                    before = focused()
                    page.keyboard.press("n")
                    page.wait_for_function(FOCUSED, arg=before, timeout=60_000)
                    settle(page)

        page.get_by_text("One at a time").click()
        page.get_by_text("keys: 1–5 score").wait_for(timeout=60_000)
        settle(page)
        for key in ("a", "x", "b"):
            for _ in range(n):
                header = page.locator("h3").filter(has_text="Variant").first.inner_text()
                timed(page, key, HEADER, header, f"one at a time {key.upper()}")
        browser.close()
    return times


def main() -> None:
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is not installed")
        return
    bench_review.BADCASES, bench_review.VARIANTS, bench_review.REVIEWS = 300, 20, 400
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/board.db"
        bench_review.build(db_url)
        with serve(Path(tmp), db_url) as url:
            times = measure(url, n=int(os.environ.get("SRADIT_BENCH_N", "30")))
    after = os.getloadavg()
    print(f"database: {bench_review.BADCASES} badcases × {bench_review.VARIANTS} variants, chromium 1440×900")
    print(f"load average (1 / 5 / 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} before, {after[0]:.2f} after")
    what = {
        "board J": "board, J (focus the next variant; the pane follows) → repaint",
        "board K": "board, K (focus the previous variant) → repaint",
        "board A": "board, A (approve) → the card shows it",
        "board X": "board, X (reject) → the card shows it",
        "board B": "board, B (best) → the card shows it",
        "board written": "board, A/X/B → written and acknowledged by Python",
        "one at a time A": "one at a time, A → the next variant on screen",
        "one at a time X": "one at a time, X → the next variant on screen",
        "one at a time B": "one at a time, B → the next variant on screen",
    }
    for label, words in what.items():
        print(f"{words:<62} {figures(times[label])}")


if __name__ == "__main__":
    main()
