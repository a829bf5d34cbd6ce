"""Job handlers for the job-runner tests; the worker subprocess imports them by name."""

from __future__ import annotations

import time
from typing import Any

from pipeline.errors import InputError
from pipeline.jobs.runner import JobContext


def ok_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    for i in range(3):
        ctx.progress(i + 1, 3)
        ctx.metric(step=i, loss=1.0 / (i + 1))
    print("ok_job done", flush=True)
    return {"value": params.get("value", 1)}


def sleep_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    steps = int(params.get("steps", 100))
    for i in range(steps):
        ctx.progress(i + 1, steps)
        time.sleep(float(params.get("step_seconds", 0.1)))
    return {"slept": steps}


def fail_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    raise RuntimeError("this job fails on purpose")


def refused_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    raise InputError("bad input, refused before any work")


def tree_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """A job with children, as real jobs have: loky workers (joblib's, as the rule rewriter and the filters
    use) and a plain child process (as torch dataloader workers are); their pids go to ``params["pids"]``."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from joblib.externals.loky import get_reusable_executor

    executor = get_reusable_executor(max_workers=2)
    pids = {f.result() for f in [executor.submit(os.getpid) for _ in range(8)]}
    for _ in range(2):
        executor.submit(time.sleep, 600)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    pids.add(child.pid)
    Path(params["pids"]).write_text("\n".join(str(p) for p in sorted(pids)))
    ctx.progress(1, 100)
    time.sleep(600)
    return {}
