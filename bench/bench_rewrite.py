"""Rewrite generation and the filter chain on the real badcases (issue 4): variants per second on this
machine for the rule generator + the baseline-coder label filter (+ facts, near-duplicates, length), and
how many variants of each badcase pass every filter. Target: ≥ 500 variants per second."""

from __future__ import annotations

import json
import statistics
import time

from common import SHARED_DATA

from pipeline.badcases import diagnose
from pipeline.filters import Candidate
from pipeline.filters.duplicates import DuplicateFilter
from pipeline.filters.facts import FactsFilter
from pipeline.filters.label import LabelConsistencyFilter
from pipeline.filters.length import LengthFilter
from pipeline.folds import assign_folds
from pipeline.mining import oof_predictions
from pipeline.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS
from pipeline.rewrite_rules import rule_variants
from training.predictors import BaselineLearner, consistency_learner

N = 20


def main() -> None:
    rows = json.loads((SHARED_DATA / "ccl25_train_206.json").read_text(encoding="utf-8"))
    rows = [
        {**r, OTHER_KEY: ";".join(c.strip() for c in r[OTHER_KEY].replace("；", ";").split(";") if c.strip())}
        for r in rows
    ]
    folds = assign_folds([r[ID_KEY] for r in rows], [r[MAIN_KEY] for r in rows], 5, 0)
    learner = BaselineLearner()
    preds = oof_predictions(rows, [], folds, 5, lambda: learner)
    by_id = {r[ID_KEY]: r for r in rows}
    bad = [
        cid
        for cid, p in preds.items()
        if diagnose(by_id[cid][MAIN_KEY], by_id[cid][OTHER_KEY].split(";"), p.principal, p.others).is_badcase
    ]

    t0 = time.perf_counter()
    batch: list[Candidate] = []
    for b, cid in enumerate(bad):
        r = by_id[cid]
        original = {k: r[k] for k in TEXT_SECTIONS}
        for v in rule_variants(original, N, 0):
            batch.append(
                Candidate(
                    len(batch), b, len(batch), cid, v.sections, original, r[MAIN_KEY], tuple(r[OTHER_KEY].split(";"))
                )
            )
    t_gen = time.perf_counter() - t0

    t1 = time.perf_counter()
    label = LabelConsistencyFilter(consistency_learner().fit(rows))
    t_fit = time.perf_counter() - t1
    timings, verdicts = {}, {}
    for f in (label, FactsFilter(), DuplicateFilter(), LengthFilter()):
        t = time.perf_counter()
        verdicts[f.name] = f.judge(batch)
        timings[f.name] = time.perf_counter() - t
    n = len(batch)
    passing = [0] * len(bad)
    for i, c in enumerate(batch):
        if all(v[i].passed for v in verdicts.values()):
            passing[c.badcase_id] += 1
    total = t_gen + sum(timings.values())
    print(f"badcases {len(bad)} (5-fold baseline, seed 0), variants generated {n} (N={N})")
    print(f"rule generator          {n / t_gen:8.0f} variants/s ({t_gen:.1f} s)")
    for name, t in timings.items():
        print(f"filter {name:<16} {n / t:8.0f} variants/s ({t:.1f} s)")
    print(f"label model fit         {t_fit:.1f} s (once per round, not counted below)")
    print(f"generate + filter chain {n / total:8.0f} variants/s on 2 cores (target ≥ 500)")
    print(
        f"passing every filter per badcase: min {min(passing)}, median {statistics.median(passing)}, "
        f"max {max(passing)}; badcases with ≥ 5: {sum(p >= 5 for p in passing)}/{len(bad)}"
    )
    for name, vs in verdicts.items():
        print(f"  {name:<10} passes {sum(v.passed for v in vs)}/{n}")


if __name__ == "__main__":
    main()
