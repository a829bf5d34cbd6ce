"""Sign-in throttling: after a few failed sign-ins in a row for one account name (known or not) or from one
client address, the next attempt waits, longer each time. The counters live in the database, so every
server process and a restart see them; a successful sign-in clears the account's and the client's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from db.base import as_utc, utcnow
from db.engine import read_session, write_session
from db.models import SigninFailures

FREE_FAILURES = 5  #: failures in a row before the first wait
FIRST_WAIT_S = 30
LONGEST_WAIT_S = 900


def keys(name: str, client: str | None) -> list[str]:
    out = [f"account:{name.strip().lower()}"[:300]]
    if client:
        out.append(f"client:{client}"[:300])
    return out


def wait_seconds(engine: Engine, names: Sequence[str], now: datetime | None = None) -> int:
    """Seconds before the next attempt may be checked (0: now)."""
    now = now or utcnow()
    with read_session(engine) as s:
        until = s.scalars(select(SigninFailures.locked_until).where(SigninFailures.key.in_(names)))
        later = [as_utc(u) for u in until if u is not None and as_utc(u) > now]
    return math.ceil(max((u - now).total_seconds() for u in later)) if later else 0


def record_failure(engine: Engine, names: Sequence[str], now: datetime | None = None) -> None:
    now = now or utcnow()
    for key in names:
        for attempt in range(2):  # a concurrent first failure may insert the same key: then update it
            try:
                with write_session(engine) as s:
                    row = s.scalar(select(SigninFailures).where(SigninFailures.key == key).with_for_update())
                    if row is None:
                        row = SigninFailures(key=key, failures=0)
                        s.add(row)
                    row.failures += 1
                    row.updated_at = now
                    over = row.failures - FREE_FAILURES
                    if over >= 0:
                        row.locked_until = now + timedelta(seconds=min(FIRST_WAIT_S * 2**over, LONGEST_WAIT_S))
                break
            except IntegrityError:
                if attempt:
                    raise


def clear(engine: Engine, names: Sequence[str]) -> None:
    with write_session(engine) as s:
        for row in s.scalars(select(SigninFailures).where(SigninFailures.key.in_(names))):
            s.delete(row)
