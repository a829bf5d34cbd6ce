"""Sign-in throttling: after a few failed sign-ins in a row for one account from one client, or from one client
whatever the account, the next attempt waits, longer each time. The counters live in the database, so every server
process and a restart see them.

- **Per (account, client) and per client**, not per account alone: five wrong passwords typed anywhere must not lock
  the real admin out from every address. A missing client address (loopback: `make run`, a proxy on the same host)
  is one client, never none.
- **One atomic step:** :func:`attempt` checks the counters and counts the attempt in one write transaction (SQLite's
  ``BEGIN IMMEDIATE``, PostgreSQL's row locks), before the password is checked; a successful sign-in then clears the
  account's and the client's counters (:func:`succeeded`). Checking first and recording afterwards let 17 of 40
  simultaneous attempts through a limit of 5.
- **Audited:** a lock-out, a sign-in and a failed one go to the audit log; an admin lifts an account's locks with
  :func:`unlock` (`sradit user unlock NAME`, the Users page).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError

from db.base import as_utc, utcnow
from db.engine import write_session
from db.models import SigninFailures
from pipeline.audit import audit

FREE_FAILURES = 5  #: failed attempts in a row before the first wait
FIRST_WAIT_S = 30
LONGEST_WAIT_S = 900
#: The client of a connection without an address (loopback) — one client, so that it is throttled too.
LOCAL_CLIENT = "local"
#: The client of every connection that came through a proxy this app does not trust (SRADIT_TRUSTED_PROXIES):
#: its X-Forwarded-For may be anything, so all such connections are one client.
UNTRUSTED_FORWARD = "forwarded"


def client_of(address: str | None, forwarded_for: str | None, trusted_proxies: Sequence[str]) -> str:
    """Who is signing in, for throttling: the connection's address as the server reports it, except that a
    forwarded connection counts as its address only when this app trusts a proxy (the server then took the address
    from a trusted proxy's header); otherwise the header could name a new client for every guess."""
    if forwarded_for and not trusted_proxies:
        return UNTRUSTED_FORWARD
    return address or LOCAL_CLIENT


def keys(name: str, client: str) -> list[str]:
    """The counters an attempt counts against: the account from this client, and the client."""
    account = name.strip().lower()
    return [f"account:{account}|client:{client}"[:300], f"client:{client}"[:300]]


def _wait(over: int) -> int:
    return min(FIRST_WAIT_S * 2**over, LONGEST_WAIT_S)


def attempt(engine: Engine, name: str, client: str, now: datetime | None = None) -> int:
    """Count a sign-in attempt of ``name`` from ``client`` before its password is checked; returns 0 (go on and
    check it) or the seconds to wait (nothing counted). The attempt that reaches the limit locks the counters."""
    now = now or utcnow()
    counted = keys(name, client)
    for retry in range(2):  # two first attempts at once may insert the same counter: the loser counts again
        try:
            with write_session(engine) as s:
                query = select(SigninFailures).where(SigninFailures.key.in_(counted)).with_for_update()
                rows = {row.key: row for row in s.scalars(query)}
                until = [as_utc(r.locked_until) for r in rows.values() if r.locked_until is not None]
                later = [u for u in until if u > now]
                if later:
                    return math.ceil(max((u - now).total_seconds() for u in later))
                for key in counted:
                    row = rows.get(key) or SigninFailures(key=key, failures=0)
                    s.add(row)
                    row.failures += 1
                    row.updated_at = now
                    over = row.failures - FREE_FAILURES
                    if over >= 0:
                        row.locked_until = now + timedelta(seconds=_wait(over))
                        audit(s, "system", "signin.locked", key, seconds=_wait(over), failures=row.failures)
                return 0
        except IntegrityError:
            if retry:
                raise
    raise AssertionError("unreachable")


def succeeded(engine: Engine, name: str, client: str) -> None:
    """A sign-in whose password was right: the account's and the client's counters start again."""
    with write_session(engine) as s:
        s.execute(delete(SigninFailures).where(SigninFailures.key.in_(keys(name, client))))
        audit(s, name.strip(), "signin", None, client=client)


def failed(engine: Engine, name: str, client: str) -> None:
    """A wrong name or password (already counted by :func:`attempt`): audited with the name typed."""
    with write_session(engine) as s:
        audit(s, name.strip()[:100] or "(empty)", "signin.failed", None, client=client)


def unlock(engine: Engine, name: str, actor: str) -> int:
    """Lift every lock and counter of account ``name``, from every client; returns how many were lifted."""
    prefix = f"account:{name.strip().lower()}|"
    with write_session(engine) as s:
        lifted = s.execute(delete(SigninFailures).where(SigninFailures.key.startswith(prefix, autoescape=True)))
        audit(s, actor, "user.unlock", name.strip(), counters=lifted.rowcount)
    return int(lifted.rowcount)
