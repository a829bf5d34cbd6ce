"""House rules of the pages, checked on their source: no bare expressions (Streamlit's "magic" would render
them, e.g. a conditional expression prints DeltaGenerator's docstring), and magic switched off anyway."""

from __future__ import annotations

import ast
import tomllib

from tests.helpers import ROOT

PAGES = sorted((ROOT / "app" / "pages").glob("*.py")) + [ROOT / "app" / "main.py", ROOT / "app" / "signin.py"]


def _docstring(node: ast.AST, parent: ast.AST) -> bool:
    body = getattr(parent, "body", [])
    return (
        isinstance(body, list)
        and bool(body)
        and body[0] is node
        and isinstance(getattr(node, "value", None), ast.Constant)
    )


def test_no_page_has_an_expression_statement_that_is_not_a_call() -> None:
    found = []
    for path in PAGES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for parent in ast.walk(tree):
            statements = [getattr(parent, name, []) for name in ("body", "orelse", "finalbody")]
            for node in (n for block in statements if isinstance(block, list) for n in block):
                if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Call | ast.Await):
                    if not _docstring(node, parent):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:60]}")
    assert found == [], "bare expressions in pages:\n" + "\n".join(found)


def test_the_rule_catches_the_export_pages_old_bug() -> None:
    tree = ast.parse("st.dataframe(x) if rows else st.info('none')\n")
    node = tree.body[0]
    assert isinstance(node, ast.Expr) and not isinstance(node.value, ast.Call)


def test_magic_is_off_and_errors_show_no_details() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["magicEnabled"] is False
    assert config["client"]["showErrorDetails"] == "none" and config["client"]["toolbarMode"] == "minimal"


def test_every_badcase_error_has_words_for_the_pages() -> None:
    from db.vocabulary import BADCASE_ERROR_WORDS, BADCASE_ERRORS

    assert set(BADCASE_ERROR_WORDS) == set(BADCASE_ERRORS) and "_" not in "".join(BADCASE_ERROR_WORDS.values())
