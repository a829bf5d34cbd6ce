"""Every string that came from data, files, models, jobs or users is drawn as text, never as Markdown.

Streamlit renders Markdown in messages (``st.error``, ``st.info``…), captions, headers and widget labels, so a
record id like ``![t](http://host/x.png)`` in a job's message would make the engineer's browser fetch that URL.
Two things stand in the way: :func:`inert` escapes everything such a value can use with a backslash, and breaks
the bare URLs and e-mail addresses that GitHub-flavoured Markdown turns into links *after* escapes are read
(remark-gfm finds them in the text itself) with an invisible zero-width space. :func:`md` is how a page writes a
message: the Markdown is the code's own literal template, every value in it goes through :func:`inert`.
tests/app/test_inert.py walks every page's ``st.*`` calls and holds them to that.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^])")
#: What remark-gfm's autolink literal starts from: a scheme's ``://``, ``www.``, and the ``@`` of an address.
_AUTOLINK = re.compile(r"(://|(?<![^\W_])www\.|@)", re.IGNORECASE)
ZERO_WIDTH_SPACE = "\u200b"


def _break_link(match: re.Match[str]) -> str:
    found = match.group(1)
    if found == "://":
        return ":" + ZERO_WIDTH_SPACE + "//"
    if found == "@":
        return ZERO_WIDTH_SPACE + "@"
    return found[:3] + ZERO_WIDTH_SPACE + found[3:]


def inert(value: object) -> str:
    """``value`` as literal text inside Markdown (messages, captions, headers, labels)."""
    return _SPECIAL.sub(r"\\\1", _AUTOLINK.sub(_break_link, str(value)))


def md(template: str, *values: object) -> str:
    """The code's own Markdown ``template`` with each ``{}`` filled by a value drawn :func:`inert`:
    ``st.error(md("Round {} failed: {}", number, job.message))``. Format numbers before passing them
    (``f"{score:.2f}"``); a literal brace in the template is written ``{{`` or ``}}``."""
    return template.format(*(inert(v) for v in values))
