"""Fixtures of the training tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny(tiny_model: Path) -> Path:
    """The random tiny Qwen2 (``tiny_model`` of tests/conftest.py: built once, cached on disk); read-only."""
    return tiny_model
