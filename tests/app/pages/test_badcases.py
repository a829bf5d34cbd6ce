"""The Badcases page, rendered by Streamlit's AppTest on a real SQLite database: badcases listed likeliest label
errors first, with the out-of-fold model's confidence; the flag form refuses a bad proposal with the reason and
files a good one, after which the badcase says it is held."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

import training.models.catalog  # noqa: F401 — see below
from db.engine import make_engine, read_session
from db.models import AuditEntry, LabelIssue
from tests.helpers import ROOT, as_user, mined_database, row_counts, shown

PAGE = str(ROOT / "app" / "pages" / "badcases.py")
# AppTest puts the page's folder first on sys.path, and that folder holds training.py (the Training page): the
# `training` package is imported above so that the page's `from training…` imports find the package, as they do
# under `streamlit run app/main.py`.


def test_likeliest_label_errors_come_first_and_a_flag_is_filed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, (low, high, none) = mined_database(tmp_path)
    engine = make_engine(url)
    monkeypatch.setenv("SRADIT_DB_URL", url)
    monkeypatch.setenv("SRADIT_DATA_DIR", str(tmp_path / "var"))
    at = as_user(AppTest.from_file(PAGE, default_timeout=60), engine, "engineer")
    at.session_state["badcase_id"] = low  # as if picked in the table
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["id"]) == [high, low, none]
    assert list(table["label error?"])[:2] == [0.9, 0.3] and list(table["label issue"]) == ["", "", ""]
    # Said in words under English headers (it showed `missing_other, extra_other` under 病案标识)
    assert "record (病案标识)" in table.columns and not any("_" in e for e in table["errors"])
    assert any("1 − cleanlab's label quality" in shown(c.value) for c in at.caption)
    assert any("30% confident they are" in shown(m.value) for m in at.markdown)

    # Every other code taken away: refused with the reason, nothing written.
    before = row_counts(engine)
    others = next(m for m in at.multiselect if m.label == "Right other codes")
    gold_others = list(others.value)
    assert gold_others  # the form starts from the gold codes
    for code in gold_others:
        others.unselect(code)
    _submit(at)
    assert "give at least one other code" in shown(at.error[0].value)
    assert row_counts(engine) == before

    next(s for s in at.selectbox if s.label == "Right principal code").select("I21.401")
    next(m for m in at.multiselect if m.label == "Right other codes").select("E78.500").select("I25.103")
    next(t for t in at.text_input if t.label == "Why (optional)").input("troponin rose, no ST elevation")
    _submit(at)
    assert not at.exception, at.exception
    assert "Label issue 1 flagged" in shown(at.success[0].value)
    with read_session(engine) as s:
        issue = s.scalar(select(LabelIssue))
        assert issue is not None and issue.badcase_id == low and issue.flagged_by == "engineer"
        assert (issue.proposed_principal, issue.proposed_others) == ("I21.401", ["E78.500", "I25.103"])
        assert issue.comment == "troponin rose, no ST elevation"
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.target == "label issue 1")) == "label_issue.flag"
    at.run()
    assert "Label issue 1 (open), flagged by engineer" in shown(at.info[0].value)
    assert "Flag gold codes as wrong" not in [b.label for b in at.button]
    assert list(at.dataframe[0].value["label issue"]) == ["", "open", ""]
    engine.dispose()


def _submit(at: AppTest) -> None:
    next(b for b in at.button if b.label == "Flag gold codes as wrong").click().run()
