"""The db package's tests run the real Alembic chain on every database they upgrade: the template copy of
tests/conftest.py is turned off here (same-named fixture)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _schema_from_template() -> None:
    """Every upgrade is Alembic's own."""
