"""The order pytest-xdist hands the test modules out in (`make test`: ``--dist loadfile``, two workers): longest
first, so the run does not end with one worker alone on a long module while the other idles (a module's length is
known from tests/module_seconds.json; one not listed there counts as a typical module).

The file holds each module's seconds (setup, call and teardown of all its tests) from a full run on two cores;
``SRADIT_RECORD_MODULE_SECONDS=1 make test`` writes it again. Only the order depends on it, never a result."""

from __future__ import annotations

import json
import os
import statistics
from collections import defaultdict
from functools import cache

import pytest

from tests.helpers import ROOT

SECONDS_FILE = ROOT / "tests" / "module_seconds.json"
RECORD_ENV = "SRADIT_RECORD_MODULE_SECONDS"


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


@cache
def module_seconds() -> dict[str, float]:
    if not SECONDS_FILE.is_file():
        return {}
    return {str(k): float(v) for k, v in json.loads(SECONDS_FILE.read_text(encoding="utf-8")).items()}


@cache
def typical_seconds() -> float:
    known = module_seconds()
    return statistics.median(known.values()) if known else 0.0


def seconds(nodeid: str) -> float:
    """How long the module of ``nodeid`` took in the recorded run (a typical module's time if it was not there)."""
    return module_seconds().get(module_of(nodeid), typical_seconds())


class Recorder:
    """Adds up the seconds of every test report per module (xdist's controller receives its workers' reports) and
    writes them to SECONDS_FILE at the end of a full run."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)

    @staticmethod
    def wanted(config: pytest.Config) -> bool:
        return bool(os.environ.get(RECORD_ENV)) and not hasattr(config, "workerinput")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.totals[module_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus != 0 or session.config.option.keyword or session.config.option.markexpr:
            return  # a partial run would drop the modules it left out
        ordered = dict(sorted((k, round(v, 1)) for k, v in self.totals.items()))
        SECONDS_FILE.write_text(json.dumps(ordered, indent=1) + "\n", encoding="utf-8")
