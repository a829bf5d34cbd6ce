"""Accounts: roles, disabling, the password policy, and sign-in that does not tell which names exist."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import Engine

from pipeline.accounts import users
from pipeline.errors import InputError


def test_role_disable_enable_and_policy(engine: Engine) -> None:
    users.add_user(engine, "li", "expert", "password-li", "t")
    uid, role = users.authenticate(engine, "li", "password-li") or (0, "")
    assert role == "expert" and users.account(engine, uid) == ("li", "expert")
    users.set_role(engine, "li", "engineer", "t")
    assert users.account(engine, uid) == ("li", "engineer")
    users.set_active(engine, "li", False, "t")
    assert users.account(engine, uid) is None and users.authenticate(engine, "li", "password-li") is None
    users.set_active(engine, "li", True, "t")
    assert users.authenticate(engine, "li", "password-li") is not None
    with pytest.raises(InputError, match="cannot be the account's name"):
        users.add_user(engine, "wangwu99", "expert", "wangwu99", "t")
    with pytest.raises(InputError, match="role 'doctor' is not one of"):
        users.set_role(engine, "li", "doctor", "t")
    with pytest.raises(InputError, match="there is no user named 'zhao'"):
        users.set_active(engine, "zhao", False, "t")


def test_an_unknown_name_costs_the_same_password_work(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    users.add_user(engine, "li", "expert", "password-li", "t")
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(users.hashlib, "scrypt", counting)
    for name, password in (("li", "wrong-password"), ("nobody", "wrong-password"), ("li", "password-li")):
        calls.clear()
        users.authenticate(engine, name, password)
        assert len(calls) == 1, name  # one scrypt check whether or not the name exists
