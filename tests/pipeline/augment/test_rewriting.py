"""Generating variants: resumable without duplicates, LLM output parsed/retried/failed, faults recorded."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import Badcase, Record, Variant
from pipeline.augment.llm_rewriter import LLMRewriter, parse_rewrite, rewrite_messages
from pipeline.augment.rewriting import GeneratedVariant, RewriteConfig, RuleRewriter, generate_round
from pipeline.domain.facts import facts_digest
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.errors import SraditError
from pipeline.ingest.importer import import_file
from pipeline.mining.kfold import MiningConfig, mine
from pipeline.protocols import Messages, Sampling
from tests.helpers import Counting, Oracle


@pytest.fixture
def mined(engine: Engine, shared_data: Path) -> int:
    import_file(engine, shared_data / "ccl25_train_206.json", "train", "t", 2**30)
    with read_session(engine) as s:
        ids = list(s.scalars(select(Record.case_id).where(Record.principal_code != "I50.900x018").limit(4)))
    learner = Oracle(set(ids), set(), [])
    mine(engine, lambda _fold: learner, MiningConfig(), "t")
    return 4


def _variants(engine: Engine) -> list[tuple[int, int, str]]:
    with read_session(engine) as s:
        return [(v.badcase_id, v.seq, (v.sections or {}).get("主诉", "")) for v in s.scalars(select(Variant))]


def test_stop_and_resume_generates_each_variant_once(engine: Engine, mined: int) -> None:
    with pytest.raises(SraditError, match="stopped|cannot reach"):
        generate_round(engine, RewriteConfig(round_no=1, n=5), Counting(die_after=2), "t")
    partial = _variants(engine)
    assert len(partial) == 10  # two badcases done before the engine went away; kept
    report = generate_round(engine, RewriteConfig(round_no=1, n=5), Counting(), "t")
    assert report.generated == 10 and report.skipped == 2
    rows = _variants(engine)
    assert len(rows) == 20 and len({(b, s) for b, s, _ in rows}) == 20
    assert set(partial) <= set(rows)
    # Raising N later adds only the missing ones.
    generate_round(engine, RewriteConfig(round_no=1, n=7), Counting(), "t")
    assert len(_variants(engine)) == 28


class InStep(Counting):
    """Two of these, one per concurrent run, hand over each badcase's variants at the same moment."""

    def __init__(self, step: threading.Barrier) -> None:
        super().__init__()
        self.step = step

    def variants(self, sections: Mapping[str, str], start: int, n: int, seed: int) -> list[GeneratedVariant]:
        self.step.wait()
        return super().variants(sections, start, n, seed)


def test_two_runs_at_once_store_each_variant_once(engine: Engine, mined: int) -> None:
    """Both runs count a badcase's variants before storing theirs; under the badcase's lock (PostgreSQL) or
    BEGIN IMMEDIATE (SQLite) the second counts the first's and adds nothing, instead of a duplicate-key error."""
    step, errors = threading.Barrier(2, timeout=60), []

    def run() -> None:
        try:
            generate_round(engine, RewriteConfig(round_no=1, n=5), InStep(step), "t")
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)
            step.abort()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = _variants(engine)
    assert len(rows) == 5 * mined and len({(b, s) for b, s, _ in rows}) == 5 * mined


def test_unknown_round_is_refused(engine: Engine) -> None:
    from pipeline.errors import InputError

    with pytest.raises(InputError, match="no round 3"):
        generate_round(engine, RewriteConfig(round_no=3), Counting(), "t")


@pytest.mark.sqlite_only("only SQLite lets a row lose its parent (foreign keys off outside the app)")
def test_a_badcase_whose_record_is_gone_is_reported_and_the_rest_generated(engine: Engine, mined: int) -> None:
    # Edited outside the app with foreign keys off (sqlite3's default): a badcase left without its record.
    raw = sqlite3.connect(str(engine.url.database))
    raw.execute("DELETE FROM records WHERE id = (SELECT record_id FROM badcases ORDER BY id LIMIT 1)")
    raw.commit()
    raw.close()
    report = generate_round(engine, RewriteConfig(round_no=1, n=3), Counting(), "t")
    assert report.generated == 9 and len(report.problems) == 1 and "is gone" in report.problems[0]


def _reply(sections: Mapping[str, str]) -> str:
    return "<think>改写</think>" + "".join(f"【{k}】{v}改写" for k, v in sections.items())


class ScriptedLLM:
    """Returns, per call, the next batch of the script (cut to n)."""

    def __init__(self, script: list[list[str]]) -> None:
        self.script, self.requests = script, []

    def generate(self, prompts: Sequence[Messages], sampling: Sampling) -> list[list[str]]:
        self.requests.append(sampling.n)
        return [self.script.pop(0)[: sampling.n] for _ in prompts]


def test_llm_rewriter_parses_retries_and_records_failures() -> None:
    sections = {k: f"{k}原文" for k in TEXT_SECTIONS}
    good = _reply(sections)
    missing = good.split("【出院医嘱】")[0]
    llm = ScriptedLLM([[good, missing, "garbage"], [good, "garbage"], ["garbage"]])
    out = LLMRewriter(llm, "tiny", max_attempts=3).variants(sections, start=0, n=3, seed=0)
    assert llm.requests == [3, 2, 1]  # one batched call, then only the malformed ones again
    assert [v.sections is not None for v in out] == [True, True, False]
    assert out[0].sections == {k: f"{k}原文改写" for k in TEXT_SECTIONS}
    assert out[2].error and "after 3 attempts" in out[2].error and "missing or empty sections" in out[2].error


def test_parse_rewrite_names_what_is_wrong() -> None:
    sections = {k: "x" for k in TEXT_SECTIONS}
    assert parse_rewrite(_reply(sections))[0] is not None
    assert parse_rewrite("【主诉】a【主诉】b")[1] == "section 主诉 appears twice"
    assert "现病史" in (parse_rewrite("【主诉】a")[1] or "")
    assert "出院医嘱" in rewrite_messages(sections)[1]["content"]


def test_rule_variants_are_stored_with_the_facts_their_generator_read(engine: Engine, mined: int) -> None:
    """Each rule variant keeps its original's facts, and the digest of those facts is stored with it, for the facts
    filter; a variant whose source reads no facts stores none."""
    generate_round(engine, RewriteConfig(round_no=1, n=3), RuleRewriter(workers=1), "t")
    with read_session(engine) as s:
        rows = s.execute(
            select(Variant.sections, Variant.facts, Record.sections)
            .join(Badcase, Badcase.id == Variant.badcase_id)
            .join(Record, Record.id == Badcase.record_id)
        ).all()
    assert len(rows) == 3 * mined
    for sections, facts, original in rows:
        assert facts == facts_digest(sections) == facts_digest(original)
    assert len({facts for _s, facts, _o in rows}) == mined  # one per record: the digest tells records apart
    generate_round(engine, RewriteConfig(round_no=1, n=4), Counting(), "t")
    with read_session(engine) as s:
        assert s.scalars(select(Variant.facts).where(Variant.seq == 3)).all() == [None] * mined
