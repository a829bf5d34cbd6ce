"""Fixtures of the app tests: the restored ``__main__``, and for the browser tests the demo app served by
`streamlit run` and Debian's chromium (tests/app/browser.py), one of each per module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.app.browser import ARGS, CHROMIUM, serve
from tests.demo_cache import copy_demo


@pytest.fixture(autouse=True)
def _main_module_restored() -> Iterator[None]:
    """Streamlit's script runner (AppTest too) installs each page it runs as ``sys.modules["__main__"]`` and leaves it
    there; multiprocessing's spawn then re-runs that page in every child a later test starts in the same process (an
    xdist worker runs other folders' tests after these). Put back after every test."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("browser")
    db_url = copy_demo(folder / "demo.db", folder / "var")
    with serve(folder, db_url) as url:
        yield url, db_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (the browser suite never skips)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
