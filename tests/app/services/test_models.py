"""`sradit model show` of a models-file entry: an external model says so, and what its gate does."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.services.models import describe, register_external
from db.engine import write_session
from db.models import DatasetExport
from pipeline.demo.synthetic import generate_records
from pipeline.errors import InputError
from pipeline.ingest.importer import import_rows
from pipeline.settings import Settings
from tests.helpers import model_folder


def test_an_external_model_shows_its_gate(engine: Engine, db_url: str, tmp_path: Path) -> None:
    models = tmp_path / "models.toml"
    models.write_text(
        '[models.cloud]\nkind = "llm"\nengine = "openai"\nurl = "http://x/v1"\nexternal = true\n'
        '[models.near]\nkind = "llm"\nengine = "openai"\nurl = "http://y/v1"\n',
        encoding="utf-8",
    )
    settings = Settings(db_url=db_url, models=models, external_identifiers="redact")
    cloud = "\n".join(describe(engine, settings, "cloud"))
    assert '"external": true, "identifiers": "redact"' in cloud
    assert "external" not in "\n".join(describe(engine, settings, "near")).replace("kind      external", "")


def test_a_registration_names_data_that_exists(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """--dataset is a dataset version or a written export's name; anything else is refused, naming what exists."""
    settings = Settings(db_url=db_url, models=tmp_path / "absent.toml")
    model = model_folder(tmp_path / "m")

    def register(name: str, dataset: str) -> int:
        return register_external(engine, settings, name, Path(model), "sft", None, None, dataset, None, "vllm", "t")

    import_rows(engine, generate_records(4, 0, seed=1), "train", "t", source="synthetic")
    with pytest.raises(InputError, match=r"--dataset 'round1-llamafactory-v1': no dataset version .* train;"):
        register("a", "round1-llamafactory-v1")
    with write_session(engine) as s:
        s.add(DatasetExport(round_no=1, format="llamafactory", version=1, path="x", checksum="0" * 64, created_by="t"))
    assert register("a", "round1-llamafactory-v1") > 0
    assert register("b", "train") > 0
