"""The measured effect of augmentation on the baseline coder (issue 7), on the 206 real records.

5-fold out-of-fold score without augmentation, and after one and three SRADIT rounds of rule-generated,
filter-approved variants (non-interactive: the filter chain's rank-1 variant of each badcase). Variants
join the training folds only: never a variant of a held-out record in its own training fold. Each round
mines its badcases from the previous round's out-of-fold predictions. Mean and spread over 3 seeds.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from common import SHARED_DATA

from pipeline.augment.filters import Candidate
from pipeline.augment.filters.duplicates import DuplicateFilter
from pipeline.augment.filters.facts import FactsFilter
from pipeline.augment.filters.label import LabelConsistencyFilter
from pipeline.augment.filters.length import LengthFilter
from pipeline.augment.rule_rewriter import rule_variants
from pipeline.domain.metric import score
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS
from pipeline.mining.badcases import diagnose
from pipeline.mining.folds import assign_folds
from pipeline.mining.kfold import oof_predictions
from training.predictors import BaselineLearner, consistency_learner

SEEDS, ROUNDS, N, K = (0, 1, 2), 3, 20, 5


def evaluate(rows, variants, folds):  # type: ignore[no-untyped-def]
    learner = BaselineLearner()
    preds = oof_predictions(rows, variants, folds, K, lambda _fold: learner)
    gold = {r[ID_KEY]: (r[MAIN_KEY], r[OTHER_KEY].split(";")) for r in rows}
    return preds, score(gold, {k: (p.principal, list(p.others)) for k, p in preds.items()})


def one_round(rows, variants, preds, seed, round_no):  # type: ignore[no-untyped-def]
    """Mine → generate → filter → select rank 1; returns the new variants (parent id, record)."""
    by_id = {r[ID_KEY]: r for r in rows}
    bad = [
        cid
        for cid, p in preds.items()
        if diagnose(by_id[cid][MAIN_KEY], by_id[cid][OTHER_KEY].split(";"), p.principal, p.others).is_badcase
    ]
    label = LabelConsistencyFilter(consistency_learner().fit(rows + [v for _p, v in variants]))
    filters = [label, FactsFilter(), DuplicateFilter(), LengthFilter()]
    added = []
    batch: list[Candidate] = []
    for b, cid in enumerate(bad):
        r = by_id[cid]
        original = {k: r[k] for k in TEXT_SECTIONS}
        for v in rule_variants(original, N, seed + round_no):
            batch.append(
                Candidate(
                    len(batch), b, len(batch), cid, v.sections, original, r[MAIN_KEY], tuple(r[OTHER_KEY].split(";"))
                )
            )
    verdicts = [f.judge(batch) for f in filters]
    best: dict[int, tuple[float, Candidate]] = {}
    for i, c in enumerate(batch):
        if all(v[i].passed for v in verdicts):
            sim = (verdicts[2][i].detail or {}).get("similarity_to_original", 100.0)
            if c.badcase_id not in best or sim < best[c.badcase_id][0]:
                best[c.badcase_id] = (sim, c)
    for _sim, c in best.values():
        r = by_id[c.case_id]
        added.append(
            (
                c.case_id,
                {ID_KEY: f"{c.case_id}#r{round_no}", **c.sections, MAIN_KEY: r[MAIN_KEY], OTHER_KEY: r[OTHER_KEY]},
            )
        )
    return added, len(bad), len(batch)


def main() -> None:
    rows = json.loads((SHARED_DATA / "ccl25_train_206.json").read_text(encoding="utf-8"))
    rows = [
        {**r, OTHER_KEY: ";".join(c.strip() for c in r[OTHER_KEY].replace("；", ";").split(";") if c.strip())}
        for r in rows
    ]
    results: dict[int, list[float]] = {0: [], 1: [], 3: []}
    detail: dict[int, list[str]] = {0: [], 1: [], 3: []}
    for seed in SEEDS:
        t = time.perf_counter()
        folds = assign_folds([r[ID_KEY] for r in rows], [r[MAIN_KEY] for r in rows], K, seed)
        variants: list = []
        preds, report = evaluate(rows, variants, folds)
        results[0].append(report.score)
        detail[0].append(f"{report.principal_accuracy:.3f}/{report.other_f1:.3f}")
        for round_no in range(1, ROUNDS + 1):
            new, n_bad, n_gen = one_round(rows, variants, preds, seed, round_no)
            variants += new
            preds, report = evaluate(rows, variants, folds)
            print(
                f"  seed {seed} round {round_no}: {n_bad} badcases, {n_gen} variants, {len(new)} added "
                f"(total {len(variants)}) → {report.score:.2f}",
                flush=True,
            )
            if round_no in results:
                results[round_no].append(report.score)
                detail[round_no].append(f"{report.principal_accuracy:.3f}/{report.other_f1:.3f}")
        print(f"  seed {seed} done in {time.perf_counter() - t:.0f} s", flush=True)
    print("5-fold OOF score (f1) of the baseline coder on 206 real records (mean ± std over seeds 0,1,2):")
    for rounds_done, scores in results.items():
        sd = statistics.stdev(scores) if len(scores) > 1 else 0.0
        label = "no augmentation" if rounds_done == 0 else f"{rounds_done} round{'s' * (rounds_done > 1)}"
        print(
            f"  {label:<16} {statistics.mean(scores):.2f} ± {sd:.2f}   per seed {[round(s, 2) for s in scores]}"
            f"   principal/other-F1 {detail[rounds_done]}"
        )
    gain = [a - b for a, b in zip(results[3], results[0], strict=True)]
    print(f"  gain after 3 rounds: {statistics.mean(gain):+.2f} (per seed {[round(g, 2) for g in gain]})")


if __name__ == "__main__":
    sys.exit(main())
