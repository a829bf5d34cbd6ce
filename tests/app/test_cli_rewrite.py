"""`sradit rewrite --generator llm` end to end on the tiny offline model, then `filter` and `rewrites show`.

The tiny model writes garbage, so every variant must be parsed, retried and recorded as failed cleanly;
the rule generator then fills the same round and the filter chain judges what it wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from db.engine import make_engine, read_session
from db.models import Badcase, Record, Variant, VariantVerdict
from pipeline.ingest.importer import import_file
from pipeline.mining.kfold import MiningConfig, mine
from tests.pipeline.mining.test_kfold import Oracle
from training.tiny_model import build_tiny_model


def test_llm_rewrites_fail_cleanly_and_rules_then_filter(
    cli: Any, db_url: str, shared_data: Path, tmp_path: Path
) -> None:
    cli("db", "init")
    engine = make_engine(db_url)
    import_file(engine, shared_data / "ccl25_train_206.json", "train", "t", 2**30)
    with read_session(engine) as s:
        ids = list(s.scalars(select(Record.case_id).where(Record.principal_code != "I50.900x018").limit(2)))
    learner = Oracle(set(ids), set(), [])
    mine(engine, lambda: learner, MiningConfig(), "t")  # round 1 with exactly two badcases

    tiny = build_tiny_model(tmp_path / "tiny")
    models = tmp_path / "models.toml"
    models.write_text(
        f'[models.tiny]\nkind = "llm"\nengine = "transformers"\npath = "{tiny}"\nmax_tokens = 16\n', encoding="utf-8"
    )
    cli.env["SRADIT_MODELS"] = str(models)
    out = cli("rewrite", "--round", "1", "--n", "2", "--generator", "llm", "--model", "tiny").output
    assert "0 variants generated, 4 failed" in out
    with read_session(engine) as s:
        failed = s.scalars(select(Variant)).all()
        assert len(failed) == 4 and all(v.status == "failed" and v.sections is None for v in failed)
        assert all("no well-formed rewrite after 3 attempts" in (v.error or "") for v in failed)
        assert {v.generator for v in failed} == {"llm"} and {v.model for v in failed} == {"tiny"}

    # Failed slots count toward N: a larger N adds rule-based variants after them.
    cli("rewrite", "--round", "1", "--n", "6")
    assert "variants judged" in cli("filter", "--round", "1").output
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Variant).where(Variant.generator == "rules")) == 8
        judged = s.scalar(select(func.count(func.distinct(VariantVerdict.variant_id)))) or 0
        assert judged == 8  # every generated variant has its verdicts; failed ones have none
        case_id = s.scalar(select(Record.case_id).join(Badcase, Badcase.record_id == Record.id).limit(1))
    shown = cli("rewrites", "show", case_id or "").output
    assert "failed" in shown and "label" in shown and "facts" in shown
