"""Rewrite generation and the filter chain on the real badcases (issue 4): variants per second on this
machine for the rule generator + the baseline-coder label filter (+ facts, near-duplicates, length), and
how many variants of each badcase pass every filter. Target: ≥ 500 variants per second."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from common import SHARED_DATA
from joblib.externals.loky import get_reusable_executor

from pipeline.augment.filters import Candidate
from pipeline.augment.filters.duplicates import DuplicateFilter
from pipeline.augment.filters.facts import FactsFilter
from pipeline.augment.filters.label import LabelConsistencyFilter
from pipeline.augment.filters.length import LengthFilter
from pipeline.augment.rewriting import RuleRewriter, VariantRequest
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS
from pipeline.mining.badcases import diagnose
from pipeline.mining.folds import assign_folds
from pipeline.mining.kfold import oof_predictions
from training.predictors import BaselineLearner, consistency_learner

N = 20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=0, help="processes per step (0: one per core; 1: none)")
    workers = ap.parse_args().workers
    rows = json.loads((SHARED_DATA / "ccl25_train_206.json").read_text(encoding="utf-8"))
    rows = [
        {**r, OTHER_KEY: ";".join(c.strip() for c in r[OTHER_KEY].replace("；", ";").split(";") if c.strip())}
        for r in rows
    ]
    folds = assign_folds([r[ID_KEY] for r in rows], [r[MAIN_KEY] for r in rows], 5, 0)
    learner = BaselineLearner()
    preds = oof_predictions(rows, [], folds, 5, lambda _fold: learner)
    by_id = {r[ID_KEY]: r for r in rows}
    bad = [
        cid
        for cid, p in preds.items()
        if diagnose(by_id[cid][MAIN_KEY], by_id[cid][OTHER_KEY].split(";"), p.principal, p.others).is_badcase
    ]

    t1 = time.perf_counter()
    label = LabelConsistencyFilter(consistency_learner(workers).fit(rows))
    print(
        f"label model fit {time.perf_counter() - t1:.1f} s (once per round, not counted below); "
        f"{os.cpu_count()} cores, --workers {workers}"
    )
    print("The generator and the label and facts filters use --workers processes (0: one per core); as in the")
    print("app, generating and filtering are separate jobs with processes of their own; start-up is counted.")
    print(f"\n{len(bad)} real badcases (5-fold baseline, seed 0), N={N}:")
    measure([by_id[cid] for cid in bad], label, seed=0, workers=workers)
    print(f"\nA larger job: all {len(rows)} records as badcases (seed 1: other variants than above), N={N}:")
    measure(rows, label, seed=1, workers=workers)


def measure(cases: list[dict], label: LabelConsistencyFilter, seed: int, workers: int) -> None:
    originals = [{k: r[k] for k in TEXT_SECTIONS} for r in cases]
    t0 = time.perf_counter()
    made = list(RuleRewriter(workers).variants_many([VariantRequest(o, 0, N, seed) for o in originals]))
    t_gen = time.perf_counter() - t0
    # The filter job is a process of its own: its worker processes and its caches start empty.
    get_reusable_executor().shutdown(wait=True)
    _clear_caches()
    batch: list[Candidate] = []
    for b, (r, original, variants) in enumerate(zip(cases, originals, made, strict=True)):
        for v in variants:
            assert v.sections is not None
            batch.append(
                Candidate(
                    len(batch),
                    b,
                    len(batch),
                    r[ID_KEY],
                    v.sections,
                    original,
                    r[MAIN_KEY],
                    tuple(r[OTHER_KEY].split(";")),
                )
            )
    filters = (label, FactsFilter(workers), DuplicateFilter(), LengthFilter())
    timings = {f.name: 0.0 for f in filters}
    verdicts: dict[str, list] = {f.name: [] for f in filters}
    per_batch = 50  # pipeline.augment.filter_chain.filter_round's batches of badcases
    for first in range(0, len(cases), per_batch):
        chunk = [c for c in batch if first <= c.badcase_id < first + per_batch]
        for f in filters:
            t = time.perf_counter()
            verdicts[f.name] += f.judge(chunk)
            timings[f.name] += time.perf_counter() - t
    n = len(batch)
    passing = [0] * len(cases)
    for i, c in enumerate(batch):
        if all(v[i].passed for v in verdicts.values()):
            passing[c.badcase_id] += 1
    total = t_gen + sum(timings.values())
    print(f"  variants generated      {n}")
    print(f"  rule generator          {n / t_gen:8.0f} variants/s ({t_gen:.1f} s)")
    for name, t in timings.items():
        print(f"  filter {name:<16} {n / t:8.0f} variants/s ({t:.1f} s)")
    print(f"  generate + filter chain {n / total:8.0f} variants/s (target ≥ 500)")
    print(
        f"  passing every filter per badcase: min {min(passing)}, median {statistics.median(passing)}, "
        f"max {max(passing)}; badcases with ≥ 5: {sum(p >= 5 for p in passing)}/{len(cases)}"
    )
    print("  " + ", ".join(f"{name} passes {sum(v.passed for v in vs)}/{n}" for name, vs in verdicts.items()))
    get_reusable_executor().shutdown(wait=True)


def _clear_caches() -> None:
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith(("pipeline.", "training.")):
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


if __name__ == "__main__":
    main()
