"""The Models page, rendered by Streamlit's AppTest on a real demo database with a registered model."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from tests.demo_cache import copy_demo
from tests.helpers import ROOT, model_folder
from training.models import registry
from training.models.registry import Registration

PAGE = str(ROOT / "app" / "pages" / "models.py")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("models_page")
    url = copy_demo(folder / "demo.db", folder / "var")
    engine = make_engine(url)
    model = model_folder(folder / "lf-sft")
    registry.register(engine, Registration("lf-sft", "grpo", model, round_no=1, dataset="v1"), "t")
    return url, folder


def page(url: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("SRADIT_DB_URL", url)
    monkeypatch.setenv("SRADIT_DATA_DIR", str(folder / "var"))
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in {"user_id": 2, "user_name": "engineer", "user_role": "engineer"}.items():
        at.session_state[key] = value
    return at.run()


def test_the_registry_with_lineage(demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    at = page(*demo, monkeypatch)
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["name"]) == ["baseline", "lf-sft"]
    assert list(table.loc[1, ["kind", "round", "dataset"]]) == ["grpo", "r1", "v1"]
    assert table.loc[1, "held-out score"] == "—"  # registered from outside: no score, not `None`
    at.selectbox[0].select("lf-sft").run()
    assert "kind      grpo" in at.code[0].value and "round     r1" in at.code[0].value


def test_a_bad_registration_is_named_and_writes_nothing(
    demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = page(*demo, monkeypatch)
    form = next(i for i, t in enumerate(at.text_input) if t.label == "Name")
    at.text_input[form].input("new-model")
    at.text_input[form + 1].input("/nowhere")
    register = next(b for b in at.button if b.label == "Register")
    register.click().run()
    assert not at.exception
    assert any("is not a folder" in e.value for e in at.error)
    assert list(at.dataframe[0].value["name"]) == ["baseline", "lf-sft"]
