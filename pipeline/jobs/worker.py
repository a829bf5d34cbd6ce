"""``python -m pipeline.jobs.worker JOB_ID``: the process in which a background job runs."""

from __future__ import annotations

import sys

from pipeline.database import engine_for
from pipeline.jobs.runner import run_in_worker
from pipeline.settings import Settings


def main(argv: list[str]) -> int:
    settings = Settings.from_env()
    return run_in_worker(engine_for(settings), settings, int(argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
