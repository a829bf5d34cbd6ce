"""Fixtures of the app tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _main_module_restored() -> Iterator[None]:
    """Streamlit's script runner (AppTest too) installs each page it runs as ``sys.modules["__main__"]`` and leaves it
    there; multiprocessing's spawn then re-runs that page in every child a later test starts in the same process (an
    xdist worker runs other folders' tests after these). Put back after every test."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main
