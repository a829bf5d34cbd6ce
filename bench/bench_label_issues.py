"""Finding wrong gold codes: the hand-written label-error confidence against cleanlab's, on the real records.

10 % of the 206 training records get a wrong label on purpose (half a principal code swapped for another of the
label space, half one other code swapped for one the record lacks); the baseline coder's out-of-fold
probabilities (5 folds, as `sradit kfold` mines) are scored by both, and each ranks every record. Printed per
seed and as mean with its spread: the precision of the top k flagged (k = the records flipped, and 2k) — the
share of them that were flipped.

    python bench/bench_label_issues.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from common import SHARED_DATA

from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY
from pipeline.mining.folds import assign_folds
from pipeline.mining.kfold import fold_splits
from pipeline.mining.label_quality import label_issue_confidences
from training.predictors import BaselineLearner

FLIPPED_SHARE = 0.10
FOLDS = 5


def hand_written(gold_principal: str, gold_others: Sequence[str], votes: Mapping[str, Any]) -> float:
    """The confidence mining used before cleanlab: 1 − (0.5 × p(gold principal) + 0.5 × mean p(gold others))."""
    p_main = float(votes["principal_p"].get(gold_principal, 0.0))
    p_others = [float(votes["other_p"].get(c, 0.0)) for c in gold_others]
    return 1.0 - (0.5 * p_main + 0.5 * (sum(p_others) / len(p_others) if p_others else 1.0))


def flip(records: list[dict[str, str]], seed: int) -> set[str]:
    """Wrong labels for 10 % of the records (in place); their ids."""
    rng = random.Random(seed)
    mains = sorted({r[MAIN_KEY] for r in records})
    others = sorted({c for r in records for c in r[OTHER_KEY].split(";") if c})
    chosen = rng.sample(records, round(FLIPPED_SHARE * len(records)))
    for n, r in enumerate(chosen):
        codes = [c for c in r[OTHER_KEY].split(";") if c]
        if n % 2 == 0 or not codes:
            r[MAIN_KEY] = rng.choice([m for m in mains if m != r[MAIN_KEY]])
        else:
            codes[rng.randrange(len(codes))] = rng.choice([c for c in others if c not in codes])
            r[OTHER_KEY] = ";".join(codes)
    return {r[ID_KEY] for r in chosen}


def precision_at(ranking: list[str], flipped: set[str], k: int) -> float:
    return sum(case in flipped for case in ranking[:k]) / k


def run(seed: int) -> dict[str, float]:
    records = json.loads((SHARED_DATA / "ccl25_train_206.json").read_text(encoding="utf-8"))
    flipped = flip(records, seed)
    ids = [r[ID_KEY] for r in records]
    folds = assign_folds(ids, [r[MAIN_KEY] for r in records], FOLDS, seed)
    votes: dict[str, Mapping[str, Any]] = {}
    for split in fold_splits(records, [], folds, FOLDS):
        model = BaselineLearner().fit(split.train)
        for row, prediction in zip(split.held, model.predict(split.held), strict=True):
            votes[row[ID_KEY]] = prediction.votes or {}
    gold = [(r[MAIN_KEY], [c for c in r[OTHER_KEY].split(";") if c]) for r in records]
    old = {i: hand_written(g[0], g[1], votes[i]) for i, g in zip(ids, gold, strict=True)}
    new = dict(zip(ids, label_issue_confidences(gold, [votes[i] for i in ids]), strict=True))
    k = len(flipped)
    out = {}
    for name, scores in (("hand-written", old), ("cleanlab", new)):
        ranking = sorted(ids, key=lambda i: -(scores[i] or 0.0))
        out[f"{name} @k"], out[f"{name} @2k"] = precision_at(ranking, flipped, k), precision_at(ranking, flipped, 2 * k)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    runs = []
    for seed in args.seeds:
        figures = run(seed)
        runs.append(figures)
        print(f"seed {seed}: " + ", ".join(f"{name} {value:.2f}" for name, value in figures.items()), flush=True)
    k = round(FLIPPED_SHARE * 206)
    print(f"206 real records, {k} labels flipped (k = {k}), baseline out of fold ({FOLDS} folds); precision of top:")
    for name in runs[0]:
        values = [r[name] for r in runs]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"  {name:<16} {statistics.mean(values):.2f} ± {spread:.2f} over {len(values)} seeds")


if __name__ == "__main__":
    main()
