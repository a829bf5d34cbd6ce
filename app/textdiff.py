"""Character-level differences between an original section and its rewrite, as escaped HTML.

Record text is escaped before any markup is added, so markup or script inside a record is shown as
text and never interpreted.
"""

from __future__ import annotations

import html
from difflib import SequenceMatcher

_DEL = '<del style="background:#fde2e1;text-decoration:line-through">{}</del>'
_INS = '<ins style="background:#d8f5d0;text-decoration:none">{}</ins>'


def diff_html(original: str, variant: str) -> tuple[str, str]:
    """(original with deletions marked, variant with insertions marked)."""
    left: list[str] = []
    right: list[str] = []
    matcher = SequenceMatcher(None, original, variant, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        a, b = html.escape(original[a0:a1]), html.escape(variant[b0:b1])
        if op == "equal":
            left.append(a)
            right.append(b)
            continue
        if a:
            left.append(_DEL.format(a))
        if b:
            right.append(_INS.format(b))
    return "".join(left), "".join(right)


def diff_text(original: str, variant: str) -> str:
    """The variant with its changes marked for a terminal: ``[-removed-]{+added+}`` (git's word-diff style)."""
    out: list[str] = []
    matcher = SequenceMatcher(None, original, variant, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            out.append(variant[b0:b1])
            continue
        if a1 > a0:
            out.append(f"[-{original[a0:a1]}-]")
        if b1 > b0:
            out.append(f"{{+{variant[b0:b1]}+}}")
    return "".join(out)
