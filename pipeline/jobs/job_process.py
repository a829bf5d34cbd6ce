"""``python -m pipeline.jobs.job_process JOB_ID``: the process one job runs in, started by its lane worker."""

from __future__ import annotations

import sys

from pipeline.database import engine_for
from pipeline.jobs.runner import run_job
from pipeline.settings import Settings


def main(argv: list[str]) -> int:
    settings = Settings.from_env()
    return run_job(engine_for(settings), settings, int(argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
