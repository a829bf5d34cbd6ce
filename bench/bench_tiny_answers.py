"""The tiny answering model's build (`sradit model tiny --answers`): its time and what it answers.

Every LLM test and the Training page's "Build the tiny model" wait for this build, so its target is a time:
at most 90 s on two idle cores, with at least 0.6 principal accuracy on the demo's held-out records (seed 0,
never taught) and every answer parsing. Each run builds from scratch into a temporary folder, with the
build's own seed (0) or, with ``--seeds``, others: the teaching recipe must hold for more than one seed.

Prints the build time as median [min–max] and, per run, the held-out figures of training.tiny_answers.measure.

    python bench/bench_tiny_answers.py [--seeds 0 0 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import spread

from pipeline.demo.synthetic import generate_records
from pipeline.domain.records import MAIN_KEY

TARGET_SECONDS = 90
MIN_ACCURACY = 0.6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 0, 0], help="one build per seed (0: the build's own)")
    args = ap.parse_args()

    from training.tiny_answers import build_answering_model, measure

    held_out = [r for r in generate_records(60, 5, seed=0) if MAIN_KEY in r]
    times: list[float] = []
    ok = True
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="bench_tiny_answers.") as d:
            start = time.perf_counter()
            model = build_answering_model(Path(d) / "tiny", seed=seed, log=lambda _line: None)["path"]
            times.append(time.perf_counter() - start)
            m = measure(model, held_out)
        every_parse = m["parsed"] == m["others_parsed"] == m["records"]
        ok &= times[-1] <= TARGET_SECONDS and m["principal_accuracy"] >= MIN_ACCURACY and every_parse
        print(
            f"  seed {seed}: built in {times[-1]:.0f} s; held out ({m['records']} records): principal accuracy "
            f"{m['principal_accuracy']:.2f} (always the most common class: {m['majority_share']:.2f}), principal "
            f"answers parsed {m['parsed']}, other answers parsed {m['others_parsed']}",
            flush=True,
        )
    print(f"tiny answering model build: {spread(times, ' s', '{:.0f}')} (target ≤ {TARGET_SECONDS} s)")
    print(f"targets ({TARGET_SECONDS} s, accuracy ≥ {MIN_ACCURACY}, every answer parses): {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
