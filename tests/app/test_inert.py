"""Strings from data drawn inert: every Markdown construct they could use is escaped, bare URLs and e-mail addresses
are not linked, and every page's ``st.*`` call that renders Markdown gets only the code's own literals or
:func:`app.inert.md` / :func:`app.inert.inert` (walked from the source)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from app.inert import ZERO_WIDTH_SPACE, inert, md
from tests.helpers import ROOT

Z = ZERO_WIDTH_SPACE


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("ZY010000000001", "ZY010000000001"),
        ("![t](http://host/x.png)", rf"\!\[t\]\(http\:{Z}//host/x\.png\)"),
        ("**bold** _it_", r"\*\*bold\*\* \_it\_"),
        (":red[alarm]", r"\:red\[alarm\]"),
        ("# heading", r"\# heading"),
        ("<img src=x>", r"\<img src\=x\>"),
        ("see https://evil.example/a now", rf"see https\:{Z}//evil\.example/a now"),
        ("www.evil.example", rf"www{Z}\.evil\.example"),
        ("WWW.EVIL.EXAMPLE", rf"WWW{Z}\.EVIL\.EXAMPLE"),
        ("mail a.b@evil.example", rf"mail a\.b{Z}@evil\.example"),
        ("awww.x", r"awww\.x"),  # not a www. link: left as it was
    ],
)
def test_markdown_is_escaped_and_links_are_broken(raw: str, shown: str) -> None:
    assert inert(raw) == shown
    # No construct survives: every special character is preceded by a backslash...
    assert not re.search(r"(?<!\\)[!\[\]()*_#<>:]", inert(raw))
    # ...and no bare URL or address is left for remark-gfm's autolink literal (it reads the text after escapes).
    unescaped = re.sub(r"\\(.)", r"\1", inert(raw))
    assert not re.search(r"https?://|(?<![^\W_])www\.|\w@", unescaped, re.IGNORECASE)


def test_md_fills_the_code_s_markdown_with_inert_values() -> None:
    assert (
        md("**Round {}** failed: {}", 3, "![x](http://h/x.png)")
        == rf"**Round 3** failed: \!\[x\]\(http\:{Z}//h/x\.png\)"
    )
    assert md("score {} ({{f1}})", "0.85") == r"score 0\.85 ({f1})"


# --- every page's Markdown-rendering calls ----------------------------------------------------------------------------

#: Streamlit calls whose first argument (or ``label``/``body``) is rendered as Markdown.
RENDERS_MARKDOWN = frozenset(
    "markdown write caption error warning info success toast title header subheader expander button download_button "
    "checkbox radio selectbox multiselect text_input number_input text_area toggle metric page_link link_button "
    "popover form_submit_button slider select_slider date_input file_uploader status spinner".split()
)


def _safe(node: ast.expr) -> bool:
    """The code's own literal, or what md()/inert() made, or literals and those joined."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in ("md", "inert")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _safe(node.left) and _safe(node.right)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):  # "★" * k
        return isinstance(node.left, ast.Constant) or isinstance(node.right, ast.Constant)
    if isinstance(node, ast.IfExp):
        return _safe(node.body) and _safe(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join":
        parts = node.args[0] if node.args else None
        inner = parts.elt if isinstance(parts, ast.GeneratorExp | ast.ListComp) else parts
        return isinstance(node.func.value, ast.Constant) and inner is not None and _safe(inner)
    return False


def unsafe_calls(source: str, name: str = "<page>") -> list[str]:
    """``file:line call(argument)`` for every Markdown-rendering call given anything else."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in RENDERS_MARKDOWN or not isinstance(node.func.value, ast.Name | ast.Subscript):
            continue
        arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg in ("label", "body")), None)
        if arg is not None and not _safe(arg):
            found.append(f"{name}:{node.lineno} {node.func.attr}({ast.unparse(arg)[:80]})")
    return found


def drawing_modules() -> list[Path]:
    return [p for p in sorted((ROOT / "app").rglob("*.py")) if "import streamlit as st" in p.read_text("utf-8")]


def test_the_walk_sees_the_pages_and_flags_what_came_from_data() -> None:
    assert len(drawing_modules()) >= 15 and ROOT / "app" / "pages" / "rounds.py" in drawing_modules()
    flagged = [
        'st.error(job.message or "failed")',
        "st.error(str(e))",
        'st.caption(f"Job {job.id}: {job.message}")',
        'st.success("written to " + str(path))',
        "c1.expander(name)",
        'st.text_input(label=f"Reason for {number}")',
    ]
    for line in flagged:
        assert unsafe_calls(line), line
    passed = [
        'st.error(md("{}", job.message or "failed"))',
        'st.caption(md("Job {}: {}", job.id, job.status) + (md(" — {}", m) if m else ""))',
        'st.markdown("**What**\\n\\n" + "\\n".join(md("- {}", x) for x in lines))',
        'st.button("★" * k)',
        "st.text(job.message)",  # st.text and st.code draw plain text
    ]
    for line in passed:
        assert not unsafe_calls(line), line


def test_every_page_draws_strings_from_data_inert() -> None:
    found = [c for p in drawing_modules() for c in unsafe_calls(p.read_text("utf-8"), str(p.relative_to(ROOT)))]
    assert not found, "\n".join(found)
