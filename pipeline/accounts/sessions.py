"""Signed-in sessions that survive a reload: the browser's cookie holds a random 32-byte token, the database
only its SHA-256 with the user, when it expires and whether it was revoked.

Why a random token looked up in the database and not an HMAC-signed one: every page load looks the token up
anyway (to honour sign-out, a disabled account, expiry), and an unguessable 256-bit token that matches no
stored hash is rejected by that same lookup. A signature would protect data carried inside the token, and
ours carries none; it would add a secret key that every server process must share and nobody may lose. A
copy of the database signs no one in: it holds hashes, not tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, delete, select, update
from sqlalchemy.orm import Session

from db.base import as_utc, utcnow
from db.engine import read_session, write_session
from db.models import User, UserSession
from pipeline.audit import audit

TOKEN_BYTES = 32
#: last_seen_at is written at most this often, so that clicking around does not write on every run.
SEEN_EVERY = timedelta(minutes=5)
#: Expired or revoked rows are kept this long (who was signed in, from where), then deleted.
KEEP_ENDED = timedelta(days=30)
#: Longer than any token we issue: anything longer is not worth hashing.
_MAX_TOKEN_CHARS = 200


@dataclass(frozen=True)
class Issued:
    token: str  #: goes to the browser's cookie, never into the database
    session_id: int
    expires_at: datetime


@dataclass(frozen=True)
class Active:
    session_id: int
    user_id: int
    name: str
    role: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(engine: Engine, user_id: int, client: str | None, hours: float, now: datetime | None = None) -> Issued:
    """Start a session for a user who has just proved their password; it ends after ``hours``."""
    now = now or utcnow()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with write_session(engine) as s:
        # Housekeeping rides on sign-in: ended sessions older than KEEP_ENDED go.
        s.execute(delete(UserSession).where(UserSession.expires_at < now - KEEP_ENDED))
        row = UserSession(
            token_hash=token_hash(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            last_seen_at=now,
            client=client[:100] if client else None,
        )
        s.add(row)
        s.flush()
        return Issued(token=token, session_id=row.id, expires_at=row.expires_at)


def _active(s: Session, where: ColumnElement[bool], now: datetime) -> tuple[UserSession, User] | None:
    found = s.execute(select(UserSession, User).join(User, User.id == UserSession.user_id).where(where)).first()
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or as_utc(row.expires_at) <= now or not user.active:
        return None
    return row, user


def _seen(engine: Engine, row: UserSession, now: datetime) -> None:
    if now - as_utc(row.last_seen_at) >= SEEN_EVERY:
        with write_session(engine) as s:
            s.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))


def resume(engine: Engine, token: str | None, now: datetime | None = None) -> Active | None:
    """The session a cookie's token belongs to, when it is neither expired nor revoked and its account is
    active; None for anything else (a tampered, unknown, ended or empty token)."""
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return None
    now = now or utcnow()
    with read_session(engine) as s:
        found = _active(s, UserSession.token_hash == token_hash(token), now)
    if found is None:
        return None
    row, user = found
    _seen(engine, row, now)
    return Active(row.id, user.id, user.name, user.role, as_utc(row.expires_at))


def check(engine: Engine, session_id: int, user_id: int, now: datetime | None = None) -> Active | None:
    """The session again, on every run of a signed-in page: sign-out elsewhere, expiry, a disabled account or
    a new role apply on the next page. The user id must match too: SQLite may give a deleted row's id to a
    new row, and a page left open for weeks must not wake up as someone else."""
    now = now or utcnow()
    with read_session(engine) as s:
        found = _active(s, (UserSession.id == session_id) & (UserSession.user_id == user_id), now)
    if found is None:
        return None
    row, user = found
    _seen(engine, row, now)
    return Active(row.id, user.id, user.name, user.role, as_utc(row.expires_at))


def revoke(engine: Engine, session_id: int, actor: str, now: datetime | None = None) -> None:
    """End one session: its user signing out (audited ``signout``) or an admin ending it (``session.revoke``)."""
    with write_session(engine) as s:
        found = s.execute(
            select(UserSession, User).join(User, User.id == UserSession.user_id).where(UserSession.id == session_id)
        ).first()
        if found is None or found[0].revoked_at is not None:
            return
        found[0].revoked_at = now or utcnow()
        action = "signout" if found[1].name == actor else "session.revoke"
        audit(s, actor, action, found[1].name, session_id=session_id, client=found[0].client)


@dataclass(frozen=True)
class OpenSession:
    """A session that still signs its user in (the Users page lists them for admins)."""

    session_id: int
    name: str
    client: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def open_sessions(engine: Engine, now: datetime | None = None) -> list[OpenSession]:
    """Every unrevoked, unexpired session, newest first."""
    now = now or utcnow()
    with read_session(engine) as s:
        rows = s.execute(
            select(UserSession, User.name)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.revoked_at.is_(None), UserSession.expires_at > now)
            .order_by(UserSession.created_at.desc(), UserSession.id.desc())
        ).all()
    return [
        OpenSession(r.id, name, r.client, as_utc(r.created_at), as_utc(r.last_seen_at), as_utc(r.expires_at))
        for r, name in rows
    ]


def revoke_all(s: Session, user_id: int, now: datetime | None = None) -> None:
    """End every open session of a user, inside the caller's transaction (a password change, a disabled
    account): a stolen cookie stops working with the change."""
    s.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
