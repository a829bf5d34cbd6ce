"""Accounts: salted scrypt password hashes (never the password), adding and checking users."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import Engine, select

from db.engine import read_session, write_session
from db.models import User
from db.vocabulary import USER_ROLES
from pipeline.accounts.sessions import revoke_all
from pipeline.audit import audit
from pipeline.errors import InputError

# scrypt at n=2**14, r=8 costs ~50 ms and 16 MiB per check: slow for guessing, fine for sign-in.
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    got = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
    )
    return hmac.compare_digest(got, expected)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


#: Verified against when the name is unknown, so an unknown name costs the same scrypt work as a known one.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def check_password_policy(name: str, password: str) -> None:
    """At least 8 characters, and not the account's own name."""
    if len(password) < 8:
        raise InputError(f"the password for {name!r} is too short: at least 8 characters")
    if password.strip().lower() == name.strip().lower():
        raise InputError(f"the password for {name!r} cannot be the account's name")


def add_user(engine: Engine, name: str, role: str, password: str | None, actor: str) -> str | None:
    """Store a user; returns the generated password when none was given."""
    name = name.strip()
    if not name:
        raise InputError("a user name cannot be empty")
    if role not in USER_ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(USER_ROLES)}")
    if password is not None:
        check_password_policy(name, password)
    generated = generate_password() if password is None else None
    with write_session(engine) as s:
        if s.scalar(select(User.id).where(User.name == name)) is not None:
            raise InputError(f"a user named {name!r} already exists")
        s.add(User(name=name, role=role, password_hash=hash_password(password or generated or "")))
        audit(s, actor, "user.add", name, role=role)
    return generated


def set_password(engine: Engine, name: str, password: str | None, actor: str) -> str | None:
    """Change a user's password; returns the generated one when none was given."""
    if password is not None:
        check_password_policy(name, password)
    generated = generate_password() if password is None else None
    with write_session(engine) as s:
        user = _existing(s, name)
        user.password_hash = hash_password(password or generated or "")
        revoke_all(s, user.id)  # whoever held the old password is signed out everywhere
        audit(s, actor, "user.passwd", user.name)
    return generated


def set_role(engine: Engine, name: str, role: str, actor: str) -> None:
    if role not in USER_ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(USER_ROLES)}")
    with write_session(engine) as s:
        user = _existing(s, name)
        user.role = role
        audit(s, actor, "user.role", user.name, role=role)


def set_active(engine: Engine, name: str, active: bool, actor: str) -> None:
    """Disable (or enable again) an account: a disabled one cannot sign in, and its open sessions are revoked
    (an open page ends on its next run: app/auth.py checks the session on every run)."""
    with write_session(engine) as s:
        user = _existing(s, name)
        user.active = active
        if not active:
            revoke_all(s, user.id)  # enabling the account again does not bring its old sessions back
        audit(s, actor, "user.enable" if active else "user.disable", user.name)


def _existing(s: Any, name: str) -> User:
    user = s.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise InputError(f"there is no user named {name!r}")
    return user


def account(engine: Engine, user_id: int) -> tuple[str, str] | None:
    """(name, role) of an active account, None when it is gone or disabled."""
    with read_session(engine) as s:
        user = s.get(User, user_id)
        return (user.name, user.role) if user is not None and user.active else None


def authenticate(engine: Engine, name: str, password: str) -> tuple[int, str] | None:
    """(user id, role) when the name and password match an active user, else None. An unknown or disabled
    name costs one password check too, so the time taken does not tell which names exist."""
    with read_session(engine) as s:
        user = s.scalar(select(User).where(User.name == name.strip(), User.active.is_(True)))
        if user is None:
            verify_password(password, _DUMMY_HASH)
            return None
        if not verify_password(password, user.password_hash):
            return None
        return user.id, user.role


def list_users(engine: Engine) -> list[tuple[str, str, bool, str]]:
    with read_session(engine) as s:
        return [
            (u.name, u.role, u.active, u.created_at.strftime("%Y-%m-%d %H:%M"))
            for u in s.scalars(select(User).order_by(User.name))
        ]
