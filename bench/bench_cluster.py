"""K-fold through the local backend and through Ray on a loopback head: the overhead of the cluster path, and a model
of the cluster case on paper.

Prints (each figure as median [min–max] over its runs):
- the wall time of `sradit kfold --model tiny-sft --folds K --seed 0` on synthetic records (K folds × 2 sub-tasks
  of SFT with configs/cpu/sft-tiny.yaml at 1 step, out-of-fold prediction, registration), as a whole command,
  with SRADIT_JOB_BACKEND=local and =ray, and their ratio;
- K-fold wall time against the number of GPUs for the paper's 5 folds × 2 sub-tasks, from the measured time of one
  fold × sub-task (the local run's time over its trainings) and the measured Ray overhead: every training takes
  a GPU, so g GPUs train ceil(10 / g) waves. On this machine the head declares 2 GPUs and both trainings share 2
  CPU cores: the measured Ray figure shows the path's overhead, not a speed-up.

Needs PostgreSQL (the ray backend refuses SQLite): SRADIT_TEST_PG_URL, as `.ci/postgres.sh` prints it. Starts its
own loopback Ray head (tests/ray_head.py) unless SRADIT_TEST_RAY_ADDRESS names one.

    python bench/bench_cluster.py [--runs 2] [--folds 2] [--records 24]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, spread

from tests import ray_head as heads
from tests.databases import PG_URL_ENV, fresh_pg_database


def _prepare(folder: Path, url: str, base: Path, records: int) -> dict[str, str]:
    from app.cli.common import progress_bar  # noqa: F401 — the CLI's imports, warmed before timing
    from db.engine import make_engine
    from pipeline.database import init_database
    from pipeline.demo.synthetic import generate_records
    from pipeline.ingest.importer import import_rows

    engine = make_engine(url)
    init_database(engine)
    import_rows(engine, generate_records(n_labelled=records, n_unlabelled=0, seed=5), "train", "b", source="synthetic")
    engine.dispose()
    sft = (
        (ROOT / "configs" / "cpu" / "sft-tiny.yaml")
        .read_text(encoding="utf-8")
        .replace("max_steps: 40", "max_steps: 1")
    )
    (folder / "sft.yaml").write_text(sft, encoding="utf-8")
    (folder / "models.toml").write_text(
        f'[models.tiny-sft]\nkind = "sft"\nbase = "{base}"\nconfig = "{folder / "sft.yaml"}"\nsubtasks = "pair"\n'
        "max_tokens = 32\nresources = {gpus = 1, cpus = 1}\n",
        encoding="utf-8",
    )
    return {"SRADIT_DB_URL": url, "SRADIT_DATA_DIR": str(folder / "var"), "SRADIT_MODELS": str(folder / "models.toml")}


def _kfold(env: dict[str, str], folds: int) -> float:
    cmd = [sys.executable, "-c", "from app.cli import main; main()", "kfold", "--model", "tiny-sft"]
    cmd += ["--folds", str(folds), "--seed", "0"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"kfold failed ({env.get('SRADIT_JOB_BACKEND')}): {done.stderr[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--records", type=int, default=24)
    args = parser.parse_args()
    if not os.environ.get(PG_URL_ENV):
        print(f"skipped: the ray backend needs PostgreSQL; set {PG_URL_ENV} (bash .ci/postgres.sh prints one)")
        return 0
    own = None
    if not os.environ.get(heads.ADDRESS_ENV):
        own = Path(tempfile.mkdtemp(prefix="srb", dir="/tmp"))
        os.environ.update(heads.start(own).env)
    try:
        from training.tiny_model import build_tiny_model

        work = Path(tempfile.mkdtemp(prefix="bench_cluster."))
        base = build_tiny_model(work / "tiny")
        times: dict[str, list[float]] = {"local": [], "ray": []}
        for run in range(args.runs):
            for backend in ("local", "ray"):
                with fresh_pg_database() as url:
                    folder = work / f"{backend}-{run}"
                    folder.mkdir()
                    env = _prepare(folder, url, base, args.records)
                    env |= {"SRADIT_JOB_BACKEND": backend, "SRADIT_RAY_ADDRESS": os.environ[heads.ADDRESS_ENV]}
                    times[backend].append(_kfold(env, args.folds))
    finally:
        if own is not None:
            heads.stop(own)
    trainings = args.folds * 2
    print(f"K-fold of tiny-sft, {args.folds} folds × 2 sub-tasks on {args.records} records (2 cores, tiny model):")
    for backend, values in times.items():
        print(f"  {backend:5s} {spread(values, ' s', '{:.1f}')}")
    local, ray = statistics.median(times["local"]), statistics.median(times["ray"])
    print(f"  ray / local: {ray / local:.2f} (the cluster path's overhead here, on a head that shares 2 cores)")
    unit, overhead = local / trainings, max(ray - local, 0.0)
    print(f"Model on paper, 5 folds × 2 sub-tasks, one GPU a training, a fold × sub-task taking {unit:.1f} s:")
    one = 10 * unit + overhead
    for gpus in (1, 2, 5, 10):
        waves = math.ceil(10 / gpus)
        wall = waves * unit + overhead
        print(f"  {gpus:2d} GPUs: {waves:2d} waves → {wall:.0f} s ({one / wall:.1f}× one GPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
