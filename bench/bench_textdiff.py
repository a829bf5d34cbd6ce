"""The Review page's diff on a huge section: 100,000 characters of real record text, as the page diffs it.

A plain character diff of such a section took 44 s (issue 14); the narrowing diff (app/textdiff.py) must stay
well under the review latency target. Three rewrites: a few hundred scattered edits, every sentence's
ending changed, and a text rewritten whole (which falls back to a coarse diff).
"""

from __future__ import annotations

import json
import random
import time

from common import SHARED_DATA, spread

from app.textdiff import diff_chunks, diff_html

SIZE = 100_000
RUNS = 7


def _section() -> str:
    records = json.loads((SHARED_DATA / "ccl25_train_206.json").read_text(encoding="utf-8"))
    text = "".join(r["现病史"] + r["诊疗经过"] for r in records)
    return (text * (SIZE // len(text) + 1))[:SIZE]


def main() -> None:
    original = _section()
    rng = random.Random(0)
    edited = list(original)
    for _ in range(300):
        edited[rng.randrange(SIZE)] = "某"
    rewrites = {
        "300 scattered edits": "".join(edited),
        "every sentence end changed": original.replace("。", "；"),
        "rewritten whole (shuffled)": "".join(rng.sample(edited, SIZE)),
    }
    print(f"section of {len(original):,} characters (real records repeated)")
    for name, variant in rewrites.items():
        times = []
        for _ in range(RUNS):
            t = time.perf_counter()
            diff_html(original, variant)
            times.append(time.perf_counter() - t)
        changed = sum(len(a) for equal, a, _ in diff_chunks(original, variant) if not equal)
        print(f"  {name}: {spread(times, ' s', '{:.3f}')}; {changed:,} original characters marked changed")


if __name__ == "__main__":
    main()
