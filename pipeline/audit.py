"""The audit log: one row per change a person or command made, in the same transaction as the change."""

from __future__ import annotations

import getpass
from typing import Any

from sqlalchemy.orm import Session

from db.models import AuditEntry


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def audit(session: Session, actor: str, action: str, target: str | None = None, **detail: Any) -> None:
    session.add(AuditEntry(actor=actor, action=action, target=target, detail=detail or None))
