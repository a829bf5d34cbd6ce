"""The Streamlit entry point: ``streamlit run app/main.py``. Only routing lives here."""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run app/main.py` puts app/ on sys.path, not the project root that holds our packages.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

st.set_page_config(page_title="SRADIT Studio", page_icon="🩺", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/badcases.py", title="Badcases", icon="🔎"),
    st.Page("pages/generate.py", title="Generate", icon="✍️"),
    st.Page("pages/jobs.py", title="Jobs", icon="⚙️"),
]
st.navigation(pages).run()
