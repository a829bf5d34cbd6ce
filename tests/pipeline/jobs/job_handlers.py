"""Jobs for the job-runner tests, in a job table of their own (``Settings(job_table=TABLE)``); the worker
subprocess imports them by name."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pipeline.errors import InputError
from pipeline.jobs.runner import JobContext
from pipeline.jobs.table import JobTable, JobType

H = "tests.pipeline.jobs.job_handlers"
TABLE = f"{H}:JOBS"


@dataclass(frozen=True)
class OkParams:
    value: int = 1


@dataclass(frozen=True)
class SleepParams:
    steps: int = 100
    step_seconds: float = 0.1


@dataclass(frozen=True)
class FailParams:
    pass


@dataclass(frozen=True)
class RefusedParams:
    pass


@dataclass(frozen=True)
class TreeParams:
    pids: str  #: the file its children's pids go to


def ok_job(params: OkParams, ctx: JobContext) -> dict[str, int]:
    for i in range(3):
        ctx.progress(i + 1, 3)
        ctx.metric(step=i, loss=1.0 / (i + 1))
    print(f"ok_job done for {ctx.actor}", flush=True)
    return {"value": params.value}


def sleep_job(params: SleepParams, ctx: JobContext) -> dict[str, int]:
    for i in range(params.steps):
        ctx.progress(i + 1, params.steps)
        time.sleep(params.step_seconds)
    return {"slept": params.steps}


def fail_job(params: FailParams, ctx: JobContext) -> dict[str, int]:
    raise RuntimeError("this job fails on purpose")


def refused_job(params: RefusedParams, ctx: JobContext) -> dict[str, int]:
    raise InputError("bad input, refused before any work")


def tree_job(params: TreeParams, ctx: JobContext) -> dict[str, int]:
    """A job with children, as real jobs have: loky workers (joblib's, as the rule rewriter and the filters
    use) and a plain child process (as torch dataloader workers are); their pids go to ``params.pids``."""
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
    Path(params.pids).write_text("\n".join(str(p) for p in sorted(pids)))
    ctx.progress(1, 100)
    time.sleep(600)
    return {}


JOBS = JobTable(
    (
        JobType("ok", f"{H}:ok_job", f"{H}:OkParams"),
        JobType("sleep", f"{H}:sleep_job", f"{H}:SleepParams"),
        JobType("fail", f"{H}:fail_job", f"{H}:FailParams"),
        JobType("refused", f"{H}:refused_job", f"{H}:RefusedParams"),
        JobType("tree", f"{H}:tree_job", f"{H}:TreeParams"),
    ),
    old_handlers={f"{H}:ok_job": "ok"},
)
