"""Review latency on a large database: 2,000 badcases × 30 variants (60,000) and 4,000 reviews.

- service: decide + next item + its view (what a click costs the server, without Streamlit);
- server-side: AppTest, from the Approve click to the next item rendered (the whole script rerun);
- browser: Playwright + chromium against `streamlit run`, from the key press to the next variant shown.
Targets (issue 5): p95 ≤ 0.3 s server-side, ≤ 0.5 s in the browser.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from common import ROOT

from db.base import utcnow
from db.engine import make_engine, write_session
from pipeline.database import init_database
from pipeline.demo.synthetic import generate_records
from pipeline.domain.records import TEXT_SECTIONS
from tests.app.browser import ARGS, CHROMIUM, serve

BADCASES, VARIANTS, REVIEWS = 2000, 30, 4000


def build(db_url: str) -> None:
    from db.models import Badcase, Dataset, ModelRun, Prediction, Record, Review, Round, User, Variant
    from pipeline.accounts.users import hash_password

    engine = make_engine(db_url)
    init_database(engine)
    base = generate_records(n_labelled=60, n_unlabelled=0, seed=1)
    rng = random.Random(0)
    now = utcnow()
    with write_session(engine) as s:
        s.add(Dataset(id=1, name="train"))
        s.add(Round(id=1, number=1, status="in_review"))  # open for review: the board takes decisions
        s.flush()
        s.add(ModelRun(id=1, kind="kfold", model_name="baseline", dataset_id=1, round_id=1))
        pw = hash_password("bench-pass")
        s.add_all(User(id=i, name=f"e{i}", role="expert", password_hash=pw) for i in range(1, 6))
        s.flush()
        records, preds, badcases, variants = [], [], [], []
        for i in range(BADCASES):
            r = base[i % len(base)]
            sections = {k: r[k] for k in TEXT_SECTIONS}
            others = r["其他诊断编码"].split(";")
            records.append(
                {
                    "id": i + 1,
                    "dataset_id": 1,
                    "case_id": f"B{i:05d}",
                    "sections": sections,
                    "principal_code": r["主要诊断编码"],
                    "other_codes": others,
                    "content_hash": str(i),
                    "origin": "original",
                    "fold": i % 5,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            preds.append(
                {
                    "id": i + 1,
                    "run_id": 1,
                    "record_id": i + 1,
                    "principal_code": r["主要诊断编码"],
                    "other_codes": others[:-1],
                    "parsed": True,
                    "score": 0.8,
                }
            )
            badcases.append(
                {
                    "id": i + 1,
                    "round_id": 1,
                    "record_id": i + 1,
                    "prediction_id": i + 1,
                    "error_types": ["missing_other"],
                    "gold_principal": r["主要诊断编码"],
                    "predicted_principal": r["主要诊断编码"],
                    "missing_codes": others[-1:],
                    "extra_codes": [],
                    "other_f1": 0.4,
                    "score": 0.7,
                    "status": "open",
                    "created_at": now,
                }
            )
            for k in range(VARIANTS):
                passed = rng.random() < 0.7
                variants.append(
                    {
                        "badcase_id": i + 1,
                        "seq": k,
                        "sections": {**sections, "主诉": sections["主诉"] + f"（{k}）"},
                        "generator": "rules",
                        "edits": [],
                        "status": "generated",
                        "attempts": 1,
                        "passed": passed,
                        "rank": k + 1 if passed else None,
                        "similarity": 90.0,
                        "created_at": now,
                    }
                )
        from sqlalchemy import insert

        s.execute(insert(Record), records)
        s.execute(insert(Prediction), preds)
        s.execute(insert(Badcase), badcases)
        s.execute(insert(Variant), variants)
        # Earlier reviews by four experts spread over the first badcases; e5 (the benchmark) starts fresh.
        reviews = [
            {
                "variant_id": (b * VARIANTS) + k + 1,
                "badcase_id": b + 1,
                "reviewer_id": 1 + (n % 4),
                "decision": "approve" if n % 3 else "reject",
                "score": 1 + n % 5,
                "best": False,
                "seconds": 12.0,
                "created_at": now,
            }
            for n, (b, k) in enumerate((b, k) for b in range(REVIEWS // 4) for k in range(4))
        ]
        s.execute(insert(Review), reviews)
    engine.dispose()


def pct(values: list[float]) -> str:
    values = sorted(values)
    p50 = statistics.median(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return (
        f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
        f"(min {values[0] * 1000:.0f}, max {values[-1] * 1000:.0f}, n={len(values)})"
    )


def bench_service(db_url: str, n: int = 60) -> list[float]:
    from pipeline.review.queue import decide, next_item

    engine = make_engine(db_url)
    times = []
    for _ in range(n):
        current = next_item(engine, 5, 1)
        assert current is not None
        t = time.perf_counter()
        decide(engine, 5, current.variant_id, "approve", score=4)
        next_item(engine, 5, 1)
        times.append(time.perf_counter() - t)
    return times


def bench_apptest(db_url: str, n: int = 40) -> list[float]:
    from streamlit.testing.v1 import AppTest

    os.environ["SRADIT_DB_URL"] = db_url
    at = AppTest.from_file(str(ROOT / "app" / "pages" / "review.py"), default_timeout=120)
    for key, value in {"user_id": 5, "user_name": "e5", "user_role": "expert", "review_single": True}.items():
        at.session_state[key] = value
    at.run()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        at.button(key="approve").click().run()
        times.append(time.perf_counter() - t)
        assert not at.exception
    return times


def bench_browser(db_url: str, n: int = 30) -> list[float] | str:
    if not Path(CHROMIUM).exists():
        return f"skipped: {CHROMIUM} is not installed"
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp), db_url) as url, sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = b.new_page()
        page.goto(url)
        page.get_by_role("textbox", name="Name").fill("e5")
        page.get_by_role("textbox", name="Password").fill("bench-pass")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Review queue").click()
        page.get_by_text("One at a time").click()  # the one-at-a-time view (bench_board.py times the board)
        page.get_by_text("keys: 1–5 score").wait_for(timeout=60_000)
        js = (
            "b => { const h = [...document.querySelectorAll('h3')].find(e => e.innerText.includes('Variant'));"
            " return h && h.innerText !== b; }"
        )
        head = lambda: page.locator("h3").filter(has_text="Variant").first.inner_text()  # noqa: E731
        times = []
        for _ in range(n):
            before = head()
            page.wait_for_timeout(150)  # let the app settle, as an expert reading would
            t = time.perf_counter()
            page.keyboard.press("a")
            page.wait_for_function(js, arg=before, timeout=60_000)
            times.append(time.perf_counter() - t)
        b.close()
        return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/review.db"
        t = time.perf_counter()
        build(db_url)
        print(
            f"database: {BADCASES} badcases × {VARIANTS} variants, {REVIEWS} reviews, built in "
            f"{time.perf_counter() - t:.1f} s"
        )
        print(f"service (decide + next item)       {pct(bench_service(db_url))}")
        print(f"server-side (AppTest click→render) {pct(bench_apptest(db_url))}")
        browser = bench_browser(db_url)
        print(f"browser (key press→next variant)   {browser if isinstance(browser, str) else pct(browser)}")


if __name__ == "__main__":
    main()
