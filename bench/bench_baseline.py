"""Benchmark of the CPU baseline coder: 5-fold out-of-fold score on the 206 real training records.

Prints, for each seed of the fold assignment (folds stratified by principal code), the competition
score (mean record score × 100), principal accuracy and other-code F1, then mean ± std over seeds,
the training time per fold and the prediction speed.

    PYTHONPATH=. python bench/bench_baseline.py [--seeds 0 1 2] [--folds 5] [--set other_C=5 ...] [--nested]

The data file lives outside the project (../shared/data, see its README); it is never copied in.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import fields
from pathlib import Path

from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.domain.codes import split_code_list  # noqa: E402
from pipeline.domain.metric import score  # noqa: E402
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY  # noqa: E402
from training.baseline.coder import BaselineCoder  # noqa: E402
from training.baseline.config import BaselineConfig  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ccl25_train_206.json"


def _parse_overrides(items: list[str]) -> dict:
    kinds = {f.name: f for f in fields(BaselineConfig)}
    out = {}
    for item in items:
        key, _, raw = item.partition("=")
        if key not in kinds:
            raise SystemExit(f"unknown config field {key!r}")
        out[key] = json.loads(raw) if raw not in ("", None) else None
    return out


def run(records: list[dict], seeds: list[int], n_folds: int, overrides: dict, quiet: bool = False) -> dict:
    gold = {r[ID_KEY]: (r[MAIN_KEY], split_code_list(r[OTHER_KEY])[0]) for r in records}
    y = [r[MAIN_KEY] for r in records]
    per_seed = []
    fit_times: list[float] = []
    predict_rates: list[float] = []
    for seed in seeds:
        pred = {}
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        for tr, va in splitter.split(records, y):
            coder = BaselineCoder(BaselineConfig(**overrides))
            t0 = time.perf_counter()
            coder.fit([records[i] for i in tr])
            fit_times.append(time.perf_counter() - t0)
            part = [records[i] for i in va]
            t0 = time.perf_counter()
            out = coder.predict(part)
            predict_rates.append(len(part) / (time.perf_counter() - t0))
            for r, p in zip(part, out, strict=True):
                pred[r[ID_KEY]] = p
        rep = score(gold, pred)
        per_seed.append(rep)
        if not quiet:
            print(
                f"seed {seed}: score (f1) {rep.score:6.2f}   principal acc {100 * rep.principal_accuracy:6.2f}"
                f"   other F1 {100 * rep.other_f1:6.2f}",
                flush=True,
            )

    def ms(values: list[float]) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):6.2f} ± {sd:4.2f}"

    scores = [r.score for r in per_seed]
    accs = [100 * r.principal_accuracy for r in per_seed]
    f1s = [100 * r.other_f1 for r in per_seed]
    if not quiet:
        print(f"mean over seeds {seeds}: score (f1) {ms(scores)}   principal acc {ms(accs)}   other F1 {ms(f1s)}")
        print(
            f"fit per fold ({len(records) * (n_folds - 1) // n_folds} records): "
            f"{statistics.mean(fit_times):.2f} s (max {max(fit_times):.2f} s)   "
            f"predict: {statistics.mean(predict_rates):.0f} records/s"
        )
    return {"scores": scores, "principal_acc": accs, "other_f1": f1s, "fit_s": fit_times}


#: The grid searched by ``--nested`` (the two settings that moved the score while building the coder).
NESTED_GRID = [{"own_rule_weight": w, "other_C": c} for w in (1.0, 2.0, 4.0, 8.0, 16.0) for c in (1.0, 10.0)]


def nested(records: list[dict], seeds: list[int], n_folds: int, inner_folds: int = 4) -> None:
    """Nested CV: in each outer fold, pick the config of NESTED_GRID by inner CV on the outer training
    part only, then score the outer fold with it — an estimate free of choosing on the outer folds."""
    y = [r[MAIN_KEY] for r in records]
    gold = {r[ID_KEY]: (r[MAIN_KEY], split_code_list(r[OTHER_KEY])[0]) for r in records}
    scores = []
    for seed in seeds:
        pred = {}
        for tr, va in StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(records, y):
            train = [records[i] for i in tr]
            best, best_v = NESTED_GRID[0], -1.0
            for cand in NESTED_GRID:
                v = statistics.mean(run(train, [seed], inner_folds, cand, quiet=True)["scores"])
                if v > best_v:
                    best, best_v = cand, v
            part = [records[i] for i in va]
            for r, p in zip(part, BaselineCoder(BaselineConfig(**best)).fit(train).predict(part), strict=True):
                pred[r[ID_KEY]] = p
            print(f"  seed {seed} fold: chose {best} (inner {best_v:.2f})", flush=True)
        rep = score(gold, pred)
        scores.append(rep.score)
        print(
            f"nested seed {seed}: score (f1) {rep.score:6.2f}   principal acc {100 * rep.principal_accuracy:6.2f}"
            f"   other F1 {100 * rep.other_f1:6.2f}",
            flush=True,
        )
    sd = statistics.stdev(scores) if len(scores) > 1 else 0.0
    print(f"nested mean over seeds {seeds}: score (f1) {statistics.mean(scores):6.2f} ± {sd:4.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="FIELD=JSON")
    ap.add_argument("--nested", action="store_true", help="also run nested CV over NESTED_GRID (slow: minutes)")
    args = ap.parse_args(argv)
    if not args.data.is_file():
        print(f"data file not found: {args.data}", file=sys.stderr)
        return 2
    records = json.loads(args.data.read_text(encoding="utf-8"))
    overrides = _parse_overrides(args.overrides)
    print(f"baseline coder, {len(records)} records, {args.folds}-fold OOF, config overrides {overrides or 'none'}")
    run(records, args.seeds, args.folds, overrides)
    if args.nested:
        nested(records, args.seeds, args.folds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
