"""Each expert's board keys: checked as a whole, stored on the account, the defaults where unset."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import AuditEntry
from pipeline.errors import InputError
from pipeline.review.keys import ACTIONS, check_keys, key_map, save_keys


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        ({"approve": "AA"}, "key 'AA' for approve: a key is one letter, optionally with Shift (Shift+A)"),
        ({"approve": "1"}, "key '1' for approve: a key is one letter"),
        ({"undo": "Ctrl+U"}, "key 'CTRL+U' for undo: a key is one letter"),
        ({"reject": "r"}, "key 'R' for reject: C and R are Streamlit's own keys (clear cache, rerun)"),
        ({"best": "Shift+C"}, "key 'Shift+C' for best: C and R are Streamlit's own keys"),
        ({"approve": "x"}, "key 'X' is bound to both approve and reject"),
        ({"diff": "shift+a"}, "key 'Shift+A' is bound to both approve_rest and diff"),
        ({"skip": "S"}, "unknown board action 'skip'"),
    ],
)
def test_a_wrong_binding_is_refused_naming_the_action_and_key(keys: dict[str, str], error: str) -> None:
    with pytest.raises(InputError, match="^" + error.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        check_keys(keys)


def test_keys_are_normalised_and_the_rest_keep_their_defaults() -> None:
    bound = check_keys({"approve": " y ", "reject_rest": "shift+q", "reject": "A"})
    assert (bound["approve"], bound["reject_rest"], bound["reject"]) == ("Y", "Shift+Q", "A")
    assert all(
        bound[a] == default for a, (default, _what) in ACTIONS.items() if a not in {"approve", "reject_rest", "reject"}
    )


def test_an_experts_keys_are_stored_on_their_account(engine: Engine, queue: dict[str, int]) -> None:
    e1, e2 = queue["e1"], queue["e2"]
    assert key_map(engine, e1).keys["approve"] == "A" and key_map(engine, e1).auto_advance
    save_keys(engine, e1, {"approve": "y", "reason": "Shift+T"}, auto_advance=False)
    mine = key_map(engine, e1)
    assert (mine.keys["approve"], mine.keys["reason"], mine.auto_advance) == ("Y", "Shift+T", False)
    assert "Y approve" in mine.line() and ("Y", "approve the focused variant") in mine.sheet()
    assert key_map(engine, e2).keys["approve"] == "A"  # one expert's keys are theirs alone
    with pytest.raises(InputError, match="bound to both"):
        save_keys(engine, e1, {"approve": "X"}, auto_advance=True)
    assert key_map(engine, e1).keys["approve"] == "Y"  # a refused binding leaves the stored one as it was
    with read_session(engine) as s:
        assert s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "account.keys")).all() == [
            {"keys": {"approve": "Y", "reason": "Shift+T"}, "auto_advance": False}
        ]
