"""Sessions that survive a reload: issued, resumed by their token, expired, revoked; the database holds
only the token's hash, and a tampered token signs no one in."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import Engine, func, select

from db.base import utcnow
from db.engine import read_session
from db.models import AuditEntry, UserSession
from pipeline.accounts import sessions, users


def _user(engine: Engine, name: str = "li") -> int:
    users.add_user(engine, name, "expert", f"password-{name}", "t")
    found = users.authenticate(engine, name, f"password-{name}")
    assert found is not None
    return found[0]


def _row(engine: Engine, session_id: int) -> UserSession:
    with read_session(engine) as s:
        row = s.get(UserSession, session_id)
        assert row is not None
        return row


def test_an_issued_token_resumes_its_session_and_only_its_hash_is_stored(engine: Engine) -> None:
    uid = _user(engine)
    issued = sessions.issue(engine, uid, "10.0.0.7", hours=12)
    assert len(issued.token) >= 43  # 32 random bytes, url-safe base64
    row = _row(engine, issued.session_id)
    assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest() != issued.token
    assert row.client == "10.0.0.7" and row.revoked_at is None
    with read_session(engine) as s:  # the token itself is nowhere in the table
        assert s.scalar(select(func.count()).where(UserSession.token_hash == issued.token)) == 0
    active = sessions.resume(engine, issued.token)
    assert active is not None
    assert (active.user_id, active.name, active.role, active.session_id) == (uid, "li", "expert", issued.session_id)
    assert timedelta(hours=11, minutes=59) < active.expires_at - utcnow() <= timedelta(hours=12)
    assert sessions.check(engine, issued.session_id, uid) == active
    assert sessions.check(engine, issued.session_id, _user(engine, "wang")) is None  # another user's id


def test_a_tampered_unknown_or_empty_token_signs_no_one_in(engine: Engine) -> None:
    issued = sessions.issue(engine, _user(engine), None, hours=1)
    flipped = issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")
    for bad in (flipped, issued.token + "x", issued.token[:-1], "", None, "x" * 10_000):
        assert sessions.resume(engine, bad) is None, bad
    assert sessions.resume(engine, issued.token) is not None  # the real one still works


def test_a_session_expires(engine: Engine) -> None:
    uid = _user(engine)
    start = utcnow() - timedelta(hours=3)
    issued = sessions.issue(engine, uid, None, hours=2, now=start)
    assert sessions.resume(engine, issued.token, now=start + timedelta(hours=1)) is not None
    assert sessions.resume(engine, issued.token) is None  # three hours on: past its two
    assert sessions.check(engine, issued.session_id, uid) is None


def test_revoking_ends_one_session_and_not_the_others(engine: Engine) -> None:
    uid = _user(engine)
    a = sessions.issue(engine, uid, None, hours=1)
    b = sessions.issue(engine, uid, None, hours=1)
    sessions.revoke(engine, a.session_id, "li")
    assert sessions.resume(engine, a.token) is None and sessions.check(engine, a.session_id, uid) is None
    assert sessions.resume(engine, b.token) is not None
    assert _row(engine, a.session_id).revoked_at is not None
    # Signing out is audited as such; an admin ending a session as a revocation; an ended one is left alone.
    sessions.revoke(engine, b.session_id, "admin")
    sessions.revoke(engine, a.session_id, "admin")
    with read_session(engine) as s:
        entries = s.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.target)).all()
    assert [e for e in entries if e.action in ("signout", "session.revoke")] == [
        ("li", "signout", "li"),
        ("admin", "session.revoke", "li"),
    ]


def test_a_password_change_or_disabled_account_revokes_every_session(engine: Engine) -> None:
    uid = _user(engine)
    other = sessions.issue(engine, _user(engine, "wang"), None, hours=1)
    before = sessions.issue(engine, uid, None, hours=1)
    users.set_password(engine, "li", "a-new-password", "admin")
    assert sessions.resume(engine, before.token) is None
    after = sessions.issue(engine, uid, None, hours=1)
    users.set_active(engine, "li", False, "admin")
    users.set_active(engine, "li", True, "admin")
    assert sessions.resume(engine, after.token) is None  # enabling again brings no old session back
    assert sessions.resume(engine, other.token) is not None  # another account's session is untouched


def test_a_disabled_account_is_refused_even_before_its_rows_are_revoked(engine: Engine) -> None:
    """The account is read with the session, so a row some other path left open still cannot sign in."""
    from db.engine import write_session
    from db.models import User

    uid = _user(engine)
    issued = sessions.issue(engine, uid, None, hours=1)
    with write_session(engine) as s:
        user = s.get(User, uid)
        assert user is not None
        user.active = False
    assert sessions.resume(engine, issued.token) is None


def test_a_new_role_is_what_the_session_reports(engine: Engine) -> None:
    uid = _user(engine)
    issued = sessions.issue(engine, uid, None, hours=1)
    users.set_role(engine, "li", "engineer", "admin")
    active = sessions.check(engine, issued.session_id, uid)
    assert active is not None and active.role == "engineer"


def test_last_seen_is_written_at_most_every_few_minutes_and_old_ended_rows_go(engine: Engine) -> None:
    uid = _user(engine)
    issued = sessions.issue(engine, uid, None, hours=1, now=utcnow() - timedelta(minutes=30))
    old = sessions.issue(engine, uid, None, hours=1, now=utcnow() - timedelta(days=40))
    assert _row(engine, old.session_id).revoked_at is None
    first_seen = _row(engine, issued.session_id).last_seen_at
    sessions.check(engine, issued.session_id, uid)
    seen = _row(engine, issued.session_id).last_seen_at
    assert seen > first_seen
    sessions.check(engine, issued.session_id, uid)  # a moment later: not written again
    assert _row(engine, issued.session_id).last_seen_at == seen
    sessions.issue(engine, uid, None, hours=1)  # the next sign-in deletes the row ended 40 days ago
    with read_session(engine) as s:
        hashes = set(s.scalars(select(UserSession.token_hash)))
    assert sessions.token_hash(old.token) not in hashes and sessions.token_hash(issued.token) in hashes
