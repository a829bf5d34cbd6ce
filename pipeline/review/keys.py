"""The board's keys, each expert's own: the defaults, an expert's rebinding (stored on their account) and whether a
decision moves the focus on to the next undecided variant (auto-advance).

A key is one letter, optionally with Shift (``Shift+A``); the digits 1–5 stay the scores, and C and R stay
Streamlit's own (clear cache, rerun), so neither can be bound. Two actions never share a key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine

from db.engine import read_session, write_session
from db.models import User
from pipeline.audit import audit
from pipeline.errors import InputError

#: action → (default key, what it does), in the order the key sheet lists them
ACTIONS: dict[str, tuple[str, str]] = {
    "next": ("J", "focus the next variant"),
    "previous": ("K", "focus the previous variant"),
    "approve": ("A", "approve the focused variant"),
    "reject": ("X", "reject the focused variant"),
    "best": ("B", "mark the focused variant the best (approves it)"),
    "approve_rest": ("Shift+A", "approve every variant still undecided"),
    "reject_rest": ("Shift+X", "reject every variant still undecided"),
    "undo": ("U", "undo: one step back, the decision before comes back"),
    "diff": ("D", "the reading pane: every section, or only the changed ones"),
    "next_badcase": ("N", "open the next badcase"),
    "reason": ("T", "type a reason: Enter rejects with it, Ctrl+Enter approves with it, Esc leaves it"),
}
_KEY = re.compile(r"^(Shift\+)?[A-Z]$")
_RESERVED = {"C", "R"}  # Streamlit's clear-cache and rerun keys


@dataclass(frozen=True)
class KeyMap:
    keys: dict[str, str] = field(default_factory=lambda: {a: k for a, (k, _what) in ACTIONS.items()})
    #: after approve or reject, move the focus on to the next undecided variant
    auto_advance: bool = True

    def sheet(self) -> list[tuple[str, str]]:
        """(key, what it does) for the key sheet, the scores included."""
        return [(self.keys[a], what) for a, (_k, what) in ACTIONS.items()] + [("1–5", "score the focused variant")]

    def line(self) -> str:
        """The keys in one line, as the board shows them."""
        k = self.keys
        return (
            f"keys: {k['next']}/{k['previous']} move · 1–5 score · {k['approve']} approve · {k['reject']} reject · "
            f"{k['best']} best · {k['approve_rest']} / {k['reject_rest']} approve / reject the rest · "
            f"{k['undo']} undo · {k['diff']} all sections · {k['next_badcase']} next badcase · "
            f"{k['reason']} type a reason · ? all keys"
        )


def normalise(key: str) -> str:
    """``shift+a`` → ``Shift+A``; anything else is returned stripped and upper-cased for the check."""
    text = key.strip()
    if text.lower().startswith("shift+"):
        return "Shift+" + text[6:].strip().upper()
    return text.upper()


def check_keys(keys: Mapping[str, str]) -> dict[str, str]:
    """The full binding (defaults for actions not given), each key checked; the error names the action and key."""
    unknown = sorted(set(keys) - set(ACTIONS))
    if unknown:
        raise InputError(f"unknown board action {unknown[0]!r} (known: {', '.join(ACTIONS)})")
    bound = {a: normalise(keys.get(a, default)) for a, (default, _what) in ACTIONS.items()}
    used: dict[str, str] = {}
    for action, key in bound.items():
        if not _KEY.match(key):
            raise InputError(f"key {key!r} for {action}: a key is one letter, optionally with Shift (Shift+A)")
        if key.removeprefix("Shift+") in _RESERVED:
            raise InputError(f"key {key!r} for {action}: C and R are Streamlit's own keys (clear cache, rerun)")
        if key in used:
            raise InputError(f"key {key!r} is bound to both {used[key]} and {action}")
        used[key] = action
    return bound


def key_map(engine: Engine, user_id: int) -> KeyMap:
    """This expert's keys: their stored binding over the defaults (a stored binding that no longer checks out, as
    after a new default took its key, falls back to the defaults)."""
    with read_session(engine) as s:
        user = s.get(User, user_id)
        stored = dict(user.review_keys or {}) if user else {}
    try:
        keys = check_keys(stored.get("keys", {}))
    except InputError:
        keys = check_keys({})
    return KeyMap(keys, bool(stored.get("auto_advance", True)))


def save_keys(engine: Engine, user_id: int, keys: Mapping[str, str], auto_advance: bool) -> KeyMap:
    """Store this expert's binding (checked whole first: nothing is stored when one key is wrong) and audit it."""
    bound = check_keys(keys)
    changed = {a: k for a, k in bound.items() if k != ACTIONS[a][0]}
    with write_session(engine) as s:
        user = s.get(User, user_id)
        if user is None:
            raise InputError(f"there is no account {user_id}")
        user.review_keys = {"keys": changed, "auto_advance": auto_advance}
        audit(s, user.name, "account.keys", user.name, keys=changed, auto_advance=auto_advance)
    return KeyMap(bound, auto_advance)
