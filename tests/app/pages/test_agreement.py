"""The Agreement page, rendered by Streamlit's AppTest on the demo database (two experts)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.services.demo import build_demo
from db.engine import make_engine
from pipeline.settings import Settings
from tests.helpers import ROOT, shown


def test_the_agreement_page_shows_kappa_and_alpha_with_their_counts(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = db_url
    build_demo(make_engine(url), Settings(db_url=url, data_dir=tmp_path / "var"), force=False)
    monkeypatch.setenv("SRADIT_DB_URL", url)
    monkeypatch.setenv("SRADIT_DATA_DIR", str(tmp_path / "var"))
    at = AppTest.from_file(str(ROOT / "app" / "pages" / "agreement.py"), default_timeout=60)
    for key, value in {"user_id": 2, "user_name": "engineer", "user_role": "engineer"}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    labels = {shown(m.label): shown(m.value) for m in at.metric}
    assert set(labels) == {
        "Fleiss' kappa (decisions)",
        "Krippendorff's alpha (best, nominal)",
        "Krippendorff's alpha (scores, ordinal)",
    }
    assert all(v != "—" for v in labels.values())  # the demo's two experts give every figure
    assert any("items, 2 experts" in shown(c.value) for c in at.caption)
    pairs = next(d.value for d in at.dataframe if "kappa" in d.value.columns)
    assert list(pairs[["expert", "with"]].iloc[0]) == ["expert", "expert2"] and int(pairs["variants"][0]) > 0
