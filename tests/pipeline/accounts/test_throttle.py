"""Sign-in throttling on a real database: counters per account name and per client, waits that grow."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from db.base import utcnow
from pipeline.accounts import throttle


def test_five_failures_are_free_then_each_waits_longer(engine: Engine) -> None:
    now = utcnow()
    names = throttle.keys("Li ", "10.0.0.7")
    assert names == ["account:li", "client:10.0.0.7"]
    for _ in range(throttle.FREE_FAILURES - 1):
        throttle.record_failure(engine, names, now)
    assert throttle.wait_seconds(engine, names, now) == 0
    throttle.record_failure(engine, names, now)
    assert throttle.wait_seconds(engine, names, now) == throttle.FIRST_WAIT_S
    throttle.record_failure(engine, names, now)
    assert throttle.wait_seconds(engine, names, now) == 2 * throttle.FIRST_WAIT_S
    assert throttle.wait_seconds(engine, names, now + timedelta(seconds=61)) == 0  # the wait ends
    # Another client guessing the same account waits too; the same client guessing another account waits too.
    assert throttle.wait_seconds(engine, throttle.keys("li", "10.0.0.8"), now) > 0
    assert throttle.wait_seconds(engine, throttle.keys("wang", "10.0.0.7"), now) > 0
    throttle.clear(engine, names)
    assert throttle.wait_seconds(engine, names, now) == 0


def test_waits_are_capped(engine: Engine) -> None:
    now = utcnow()
    names = throttle.keys("zhao", None)
    for _ in range(40):
        throttle.record_failure(engine, names, now)
    assert throttle.wait_seconds(engine, names, now) == throttle.LONGEST_WAIT_S
