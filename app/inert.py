"""Record fields, ids and account names shown as text, never as Markdown: Streamlit renders Markdown in
headers, captions and widget labels, so an id like ``![t](http://host/x.png)`` would make every reviewer's
browser fetch that URL. Everything such a value can use is escaped with a backslash."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^])")


def inert(value: object) -> str:
    """``value`` as literal text inside Markdown (headers, captions, labels)."""
    return _SPECIAL.sub(r"\\\1", str(value))
