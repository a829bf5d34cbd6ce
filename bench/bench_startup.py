"""Command start-up: `sradit --help` and the light commands, as whole processes, on the demo database.

Prints, for each command, wall seconds as median [min–max] over its runs, beside a bare `python -c pass` (the
interpreter's own start, which no command can beat). With `farm-bench` on the PATH (the team's tool: each run's
wall, CPU and peak memory, paired A/B ratios), its report for each command against that yardstick is printed
instead. The target (issue 27): each at most 1.0 s on two idle cores. tests/app/cli/test_common.py keeps the
reason they are fast — none of them imports torch, transformers, sklearn, vLLM, Ray, pandas or Streamlit.

    python bench/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, spread

COMMANDS = (
    ["--help"],
    ["codes", "show", "I10.x00x002"],
    ["round", "status"],
    ["jobs", "list"],
    ["model", "list"],
    ["user", "list"],
)


def _timed(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=True)  # warm the file cache
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=True)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sradit = str(Path(sys.executable).with_name("sradit"))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SRADIT_DB_URL": f"sqlite:///{tmp}/demo.db", "SRADIT_DATA_DIR": f"{tmp}/var"}
        subprocess.run([sradit, "demo"], env=env, cwd=ROOT, capture_output=True, check=True)
        bench = shutil.which("farm-bench")
        yardstick = [sys.executable, "-c", "pass"]
        if bench is None:
            print(f"python -c pass: {spread(_timed(yardstick, env, args.runs), ' s')}")
        for command in COMMANDS:
            argv = [sradit, *command]
            if bench is None:
                print(f"sradit {' '.join(command)}: {spread(_timed(argv, env, args.runs), ' s')}", flush=True)
                continue
            print(f"--- sradit {' '.join(command)} vs python -c pass", flush=True)
            subprocess.run(
                [bench, "-n", str(args.runs), "--vs", " ".join(yardstick), "--", *argv], env=env, cwd=ROOT, check=True
            )


if __name__ == "__main__":
    main()
