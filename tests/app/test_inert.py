"""Ids and names shown inert: every Markdown construct they could use is escaped."""

from __future__ import annotations

import re

import pytest

from app.inert import inert


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("ZY010000000001", "ZY010000000001"),
        ("![t](http://host/x.png)", r"\!\[t\]\(http\:\/\/host\/x\.png\)".replace(r"\/", "/")),
        ("**bold** _it_", r"\*\*bold\*\* \_it\_"),
        (":red[alarm]", r"\:red\[alarm\]"),
        ("# heading", r"\# heading"),
        ("<img src=x>", r"\<img src\=x\>"),
    ],
)
def test_markdown_is_escaped(raw: str, shown: str) -> None:
    assert inert(raw) == shown
    # No construct survives: every special character is preceded by a backslash.
    assert not re.search(r"(?<!\\)[!\[\]()*_#<>:]", inert(raw))
