"""`sradit model show` of a models-file entry: an external model says so, and what its gate does."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from app.services.models import describe
from pipeline.settings import Settings


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
