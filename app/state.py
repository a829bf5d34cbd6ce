"""What the Streamlit pages share: settings and the engine, created once per server process."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from app.inert import md
from pipeline.database import engine_for, require_schema
from pipeline.errors import SraditError
from pipeline.settings import Settings


@st.cache_resource
def settings() -> Settings:
    return Settings.from_env()


@st.cache_resource
def engine() -> Engine:
    return engine_for(settings())


@st.cache_resource
def _swept(_engine: Engine) -> list[str]:
    """Exports killed part-way, cleaned up once per server process (pipeline/export/folders.py)."""
    from pipeline.export.folders import sweep

    return sweep(_engine, settings().workspace / "exports")


def ready_engine() -> Engine | None:
    """The engine, or None after telling the user how to create the database."""
    eng = engine()
    try:
        require_schema(eng)
    except SraditError as e:
        st.error(md("{}. `make run` builds a demo database.", e))
        return None
    _swept(eng)
    return eng
