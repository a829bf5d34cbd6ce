"""Fixtures of the page tests (Streamlit's AppTest, in this process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def _fresh_resources() -> Iterator[None]:
    """The pages cache settings and the engine per process (st.cache_resource): each test gets its own database's."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()
