"""The home page, rendered by Streamlit's AppTest against a real demo database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from pipeline.demo import build_demo
from tests.conftest import ROOT

MAIN = str(ROOT / "app" / "main.py")


@pytest.fixture(autouse=True)
def _fresh_resources() -> Iterator[None]:
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def test_home_shows_what_is_in_the_demo_database(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    build_demo(make_engine(db_url), force=False)
    monkeypatch.setenv("SRADIT_DB_URL", db_url)
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Records"] == "65" and metrics["Labelled"] == "60" and metrics["Users"] == "3"
    datasets = at.dataframe[0].value
    assert list(datasets["dataset"]) == ["test", "train"]


def test_home_explains_a_missing_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRADIT_DB_URL", f"sqlite:///{tmp_path / 'none.db'}")
    at = AppTest.from_file(MAIN, default_timeout=30).run()
    assert not at.exception
    assert "sradit db init" in at.error[0].value
