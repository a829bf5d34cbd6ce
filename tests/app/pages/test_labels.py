"""The Label issues page (engineers), rendered by Streamlit's AppTest on a real SQLite database: open issues
likeliest label errors first, accepted into a relabelled dataset version or dismissed; an issue resolved elsewhere
meanwhile is shown resolved; experts are refused the page; it is in an engineer's navigation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.engine import make_engine, read_session
from db.models import Dataset, LabelIssue
from pipeline.review.label_issues import accept_label_issue, flag_label_issue
from tests.helpers import ROOT, as_user, mined_database, shown

PAGE = str(ROOT / "app" / "pages" / "labels.py")


def test_an_engineer_accepts_one_issue_and_dismisses_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, (low, high, _none) = mined_database(tmp_path)
    engine = make_engine(url)
    first = flag_label_issue(engine, low, "I21.401", ["E78.500"], "expert", "troponin rose")
    second = flag_label_issue(engine, high, "I21.401", ["E78.500", "I25.103"], "expert")
    monkeypatch.setenv("SRADIT_DB_URL", url)
    at = as_user(AppTest.from_file(PAGE, default_timeout=60), engine, "engineer").run()
    assert not at.exception, at.exception
    assert {shown(m.label): shown(m.value) for m in at.metric} == {"Open": "2", "Accepted": "0", "Dismissed": "0"}
    headers = [shown(m.value) for m in at.markdown if shown(m.value).startswith("**Issue")]
    # The likelier label error first.
    assert headers[0].startswith(f"**Issue {second}**") and "**90%**" in headers[0]
    assert headers[1].startswith(f"**Issue {first}**") and "**30%**" in headers[1]
    assert "why: troponin rose" in [t.value for t in at.text]

    at.text_input(key=f"label_note_{second}").input("ECG and troponin")
    at.button(key=f"label_accept_{second}").click().run()
    assert not at.exception, at.exception
    assert f"dataset train@L{second} (from train) is ready" in shown(at.success[0].value)
    with read_session(engine) as s:
        issue = s.get(LabelIssue, second)
        assert issue is not None and issue.status == "accepted" and issue.resolution_note == "ECG and troponin"
        assert s.scalar(select(Dataset.name).where(Dataset.id == issue.dataset_id)) == f"train@L{second}"

    # Accepted meanwhile elsewhere (the CLI, another engineer): the stale button does nothing, the page shows it.
    accept_label_issue(engine, first, "cli:someone")
    at.button(key=f"label_dismiss_{first}").click().run()
    assert not at.exception, at.exception
    with read_session(engine) as s:
        assert s.scalar(select(LabelIssue.status).where(LabelIssue.id == first)) == "accepted"
    assert {shown(m.label): shown(m.value) for m in at.metric} == {"Open": "0", "Accepted": "2", "Dismissed": "0"}
    resolved = at.dataframe[0].value
    assert sorted(resolved["issue"]) == [first, second] and set(resolved["status"]) == {"accepted"}
    engine.dispose()


def test_a_dismissal_and_the_pages_place_in_the_navigation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, (low, _high, _none) = mined_database(tmp_path)
    engine = make_engine(url)
    issue = flag_label_issue(engine, low, "I21.401", ["E78.500"], "expert")
    monkeypatch.setenv("SRADIT_DB_URL", url)
    at = as_user(AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60), engine, "engineer").run()
    at.switch_page("pages/labels.py").run()
    assert not at.exception, at.exception
    at.button(key=f"label_dismiss_{issue}").click().run()
    assert "dismissed: the gold codes stand" in shown(at.success[0].value)
    with read_session(engine) as s:
        assert s.scalar(select(LabelIssue.status).where(LabelIssue.id == issue)) == "dismissed"

    expert = as_user(AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60), engine, "expert").run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        expert.switch_page("pages/labels.py")
    direct = as_user(AppTest.from_file(PAGE, default_timeout=60), engine, "expert").run()
    assert any("may not open this page" in shown(e.value) for e in direct.error)
    engine.dispose()
