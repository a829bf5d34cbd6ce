"""Sign-in throttling on a real database: counters per (account, client) and per client, waits that grow, one atomic
check-and-count (40 simultaneous attempts, on SQLite and PostgreSQL), unlocks and the audit log."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from db.base import utcnow
from db.engine import read_session
from db.models import AuditEntry
from pipeline.accounts import throttle


@pytest.mark.parametrize(
    ("address", "forwarded", "trusted", "client"),
    [
        ("10.0.0.7", None, (), "10.0.0.7"),
        (None, None, (), throttle.LOCAL_CLIENT),  # loopback: Streamlit gives no address — still one client
        ("10.0.0.7", "10.0.0.7", (), throttle.UNTRUSTED_FORWARD),  # the server believed a header no one vouches for
        ("203.0.113.9", "203.0.113.9", ("10.0.0.5",), "203.0.113.9"),  # through a trusted proxy
        (None, "203.0.113.9", ("127.0.0.1",), throttle.LOCAL_CLIENT),
    ],
)
def test_who_the_client_is(address: str | None, forwarded: str | None, trusted: tuple[str, ...], client: str) -> None:
    assert throttle.client_of(address, forwarded, trusted) == client


def test_keys_are_the_account_from_the_client_and_the_client() -> None:
    assert throttle.keys(" Li ", "10.0.0.7") == ["account:li|client:10.0.0.7", "client:10.0.0.7"]


def test_five_attempts_are_free_then_each_waits_longer(engine: Engine) -> None:
    now = utcnow()
    for _ in range(throttle.FREE_FAILURES):
        assert throttle.attempt(engine, "li", "10.0.0.7", now) == 0
    assert throttle.attempt(engine, "li", "10.0.0.7", now) == throttle.FIRST_WAIT_S
    later = now + timedelta(seconds=throttle.FIRST_WAIT_S + 1)
    assert throttle.attempt(engine, "li", "10.0.0.7", later) == 0  # the wait ended: one more check...
    assert throttle.attempt(engine, "li", "10.0.0.7", later) == 2 * throttle.FIRST_WAIT_S  # ...and a longer wait
    # The same client guessing another account waits too (its own counter); the real user elsewhere does not.
    assert throttle.attempt(engine, "wang", "10.0.0.7", later) > 0
    assert throttle.attempt(engine, "li", "10.0.0.8", later) == 0
    with read_session(engine) as s:
        locked = s.scalars(select(AuditEntry.target).where(AuditEntry.action == "signin.locked")).all()
    assert sorted(set(locked)) == ["account:li|client:10.0.0.7", "client:10.0.0.7"]


def test_a_right_password_clears_the_account_and_the_client(engine: Engine) -> None:
    now = utcnow()
    for _ in range(throttle.FREE_FAILURES - 1):
        throttle.attempt(engine, "li", throttle.LOCAL_CLIENT, now)
    throttle.succeeded(engine, "li", throttle.LOCAL_CLIENT)
    for _ in range(throttle.FREE_FAILURES):
        assert throttle.attempt(engine, "li", throttle.LOCAL_CLIENT, now) == 0


def test_waits_are_capped(engine: Engine) -> None:
    now = utcnow()
    for i in range(40):
        throttle.attempt(engine, "zhao", "10.0.0.9", now + timedelta(seconds=throttle.LONGEST_WAIT_S * i))
    assert throttle.attempt(engine, "zhao", "10.0.0.9", now + timedelta(seconds=throttle.LONGEST_WAIT_S * 39)) == (
        throttle.LONGEST_WAIT_S
    )


def test_unlock_lifts_the_account_from_every_client_and_is_audited(engine: Engine) -> None:
    now = utcnow()
    for client in ("10.0.0.1", "10.0.0.2"):
        for _ in range(throttle.FREE_FAILURES):
            throttle.attempt(engine, "admin", client, now)
        assert throttle.attempt(engine, "admin", client, now) > 0
    assert throttle.unlock(engine, "Admin", "root") == 2
    # Each client's own counter stays: it guessed five times and still waits for other names.
    assert throttle.attempt(engine, "admin", "10.0.0.1", now) > 0
    throttle.succeeded(engine, "admin", "10.0.0.1")
    assert throttle.attempt(engine, "admin", "10.0.0.1", now) == 0
    throttle.failed(engine, "admin", "10.0.0.1")
    with read_session(engine) as s:
        actions = s.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.target)).all()
    assert ("root", "user.unlock", "Admin") in actions and ("admin", "signin", None) in actions
    assert ("admin", "signin.failed", None) in actions


def test_simultaneous_attempts_get_no_more_than_the_free_checks(engine: Engine) -> None:
    """Checked before and recorded after the password, 17 of 40 attempts at once were checked; now 5."""
    start = threading.Barrier(40)
    results: list[int] = []
    lock = threading.Lock()

    def guess() -> None:
        start.wait()
        wait = throttle.attempt(engine, "admin", "198.51.100.4")
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40 and results.count(0) == throttle.FREE_FAILURES, results
