"""The prompts export: every record and every variant of a round, once per sub-task, for models run elsewhere."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from datasets import load_dataset
from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import Badcase, DatasetExport, Record, Variant
from pipeline.augment.filters import Candidate
from pipeline.augment.rewriting import GeneratedVariant, RewriteConfig, generate_round
from pipeline.domain.prompts import task_messages
from pipeline.errors import InputError
from pipeline.export.datasets import ExportConfig, export
from pipeline.export.prompts import round_variant_ids, variant_key
from pipeline.review.queue import decide

N_ORIGINALS = 206


class Failing:
    """A variant source whose every variant fails (no text): such slots have no prompt."""

    generator_name, prompt_version, model = "test", "p1", None

    def variants(self, sections: Mapping[str, str], start: int, n: int, seed: int) -> list[GeneratedVariant]:
        return [GeneratedVariant(None, (), "no well-formed rewrite", 3, seed, None) for _ in range(n)]


@pytest.fixture
def round1(engine: Engine, queue: dict[str, int]) -> dict[str, Any]:
    """Round 1: 3 badcases × 4 generated variants (one approved as best, the rest undecided) + 1 failed each."""
    generate_round(engine, RewriteConfig(round_no=1, n=5), Failing(), "t")
    with read_session(engine) as s:
        rows = s.execute(
            select(Variant.id, Variant.status, Variant.seq, Record.case_id)
            .join(Badcase, Badcase.id == Variant.badcase_id)
            .join(Record, Record.id == Badcase.record_id)
        ).all()
        originals = set(s.scalars(select(Record.case_id).where(Record.principal_code.is_not(None))))
    generated = [r for r in rows if r.status == "generated"]
    decide(engine, queue["e1"], generated[0].id, "approve", best=True, score=5)
    return {
        "variants": {variant_key(r.case_id, r.seq) for r in generated},
        "failed": {variant_key(r.case_id, r.seq) for r in rows if r.status == "failed"},
        "originals": originals,
    }


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_record_and_variant_once_per_task(engine: Engine, round1: dict[str, Any], tmp_path: Path) -> None:
    r = export(engine, ExportConfig(1, "prompts", tmp_path), "t")
    assert len(round1["variants"]) == 12 and len(round1["failed"]) == 3
    assert r.row_counts == {"records": 2 * N_ORIGINALS, "variants": 2 * 12}
    assert r.path.name == "round1-prompts-v1"
    assert sorted(p.name for p in r.path.iterdir()) == [
        "README.txt",
        "SHA256SUMS",
        "label_space.json",
        "records.jsonl",
        "variants.jsonl",
    ]

    records, variants = _rows(r.path / "records.jsonl"), _rows(r.path / "variants.jsonl")
    assert {x["id"] for x in records} == round1["originals"] and len(round1["originals"]) == N_ORIGINALS
    assert {x["id"] for x in variants} == round1["variants"]  # decided or not; failed slots have no text
    for rows in (records, variants):
        assert Counter((x["id"], x["task"]) for x in rows) == {
            (x["id"], t): 1 for x in rows for t in ("principal", "other")
        }
        for x in rows:
            assert set(x) == {"id", "task", "messages", "system", "prompt"}
            assert [m["role"] for m in x["messages"]] == ["system", "user"]
            assert x["system"] == x["messages"][0]["content"] and x["prompt"] == x["messages"][1]["content"]

    # The ids are the filter chain's (Candidate.as_record), and the prompts are what the tool's own LLMs read.
    with read_session(engine) as s:
        v, rec = s.execute(
            select(Variant, Record).join(Badcase, Badcase.id == Variant.badcase_id).join(Record).limit(1)
        ).one()
        cand = Candidate(v.id, v.badcase_id, v.seq, rec.case_id, dict(v.sections), dict(rec.sections), "", ())
    assert set(round_variant_ids(engine, 1)) == round1["variants"]
    row = next(x for x in variants if x["id"] == cand.as_record()["病案标识"] and x["task"] == "other")
    assert row["messages"] == task_messages("other", cand.as_record())
    assert f"#{v.seq}" in row["prompt"]  # the variant's own text (Counting appends its number to 主诉)

    with read_session(engine) as s:
        stored = s.scalar(select(DatasetExport).where(DatasetExport.id == r.export_id))
        assert stored is not None and stored.format == "prompts" and stored.row_counts == r.row_counts
        assert stored.checksum == r.checksum and stored.path == str(r.path)

    readme = (r.path / "README.txt").read_text(encoding="utf-8")
    assert "--label-predictions" in readme and "--policy-predictions" in readme and "kfold" in readme
    assert "[main|o1;o2]" in readme and "#v<seq>" in readme
    space = json.loads((r.path / "label_space.json").read_text(encoding="utf-8"))
    assert len(space["principal"]) == 5 and len(space["other"]) >= 52
    ds = load_dataset("json", data_files=str(r.path / "variants.jsonl"), split="train")
    assert len(ds) == 24 and {"messages", "system", "prompt"} <= set(ds.column_names)


def test_multi_and_single_tasks(engine: Engine, round1: dict[str, Any], tmp_path: Path) -> None:
    multi = export(engine, ExportConfig(1, "prompts", tmp_path, task="multi"), "t")
    assert multi.row_counts == {"records": N_ORIGINALS, "variants": 12}
    assert {x["task"] for x in _rows(multi.path / "variants.jsonl")} == {"multi"}
    principal = export(engine, ExportConfig(1, "prompts", tmp_path, task="principal"), "t")
    assert principal.row_counts == {"records": N_ORIGINALS, "variants": 12} and principal.version == 2


def test_same_database_same_checksum(engine: Engine, round1: dict[str, Any], tmp_path: Path) -> None:
    a = export(engine, ExportConfig(1, "prompts", tmp_path), "t")
    b = export(engine, ExportConfig(1, "prompts", tmp_path), "t")
    assert (a.version, b.version) == (1, 2) and a.checksum == b.checksum
    for name in ("records.jsonl", "variants.jsonl", "README.txt"):
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes()
    ids = [x["id"] for x in _rows(a.path / "variants.jsonl")]
    assert ids == sorted(ids, key=lambda i: (i.split("#v")[0], int(i.split("#v")[1])))


def test_options_that_do_not_apply_are_refused(engine: Engine, round1: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="do not apply to --format prompts"):
        export(engine, ExportConfig(1, "prompts", tmp_path, fold=0), "t")
    with pytest.raises(InputError, match="no round 4"):
        export(engine, ExportConfig(4, "prompts", tmp_path), "t")
    assert not list(tmp_path.glob("round*"))
