"""`sradit cotd` end to end with the tiny offline model as the teacher.

The tiny model's weights are random, so what it writes is garbage: the command must still run, report its counts,
and store only traces that pass the checks (in practice none)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from db.engine import make_engine, read_session
from db.models import Job, ReasoningTrace, Record
from pipeline.distill.traces import parse_trace


@pytest.mark.sqlite_only("minutes of LLM generation; the database part is tests/pipeline/distill on both backends")
def test_cotd_with_a_garbage_teacher_reports_counts_and_stores_nothing_unusable(
    cli: Any, db_url: str, shared_data: Path, tmp_path: Path, tiny_model: Path
) -> None:
    cli("db", "init")
    few = tmp_path / "few.json"
    rows = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))[:3]
    few.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    cli("import", str(few), "--dataset", "train")

    models = tmp_path / "models.toml"
    spec = f'[models.tiny]\nkind = "llm"\nengine = "transformers"\npath = "{tiny_model}"\nmax_tokens = 16\n'
    models.write_text(spec, encoding="utf-8")
    cli.env["SRADIT_MODELS"] = str(models)

    # Greedy: one attempt each (retries are tested with a stand-in teacher in tests/pipeline/distill).
    args = ("--subtasks", "principal,other", "--batch-size", "4", "--temperature", "0")
    out = cli("cotd", "--teacher", "tiny", *args).stdout
    m = re.search(r"^traces (\d+) \(failed (\d+)\)$", out, re.M)
    assert m, out
    stored, failed = int(m.group(1)), int(m.group(2))
    assert stored + failed == 2 * len(rows)
    assert "teacher tiny" in out and "3 labelled records" in out

    engine = make_engine(db_url)
    with read_session(engine) as s:
        traces = s.execute(select(ReasoningTrace, Record).join(Record, Record.id == ReasoningTrace.record_id)).all()
        assert len(traces) == stored
        for t, rec in traces:  # whatever was kept passes the checks it was stored under
            assert parse_trace(t.text, t.subtask, rec.principal_code or "", rec.other_codes or [])[0] == t.text
        jobs = s.scalars(select(Job).where(Job.kind == "cotd")).all()
        assert [j.status for j in jobs] == ["succeeded"]
        assert jobs[0].result and jobs[0].result["failed"] == failed

    # Refusals are clear, exit 1, and leave no job behind.
    not_llm = cli("cotd", "--teacher", "baseline", ok=False)
    assert not_llm.exit_code == 1 and "not an LLM" in not_llm.output
    no_data = cli("cotd", "--teacher", "tiny", "--dataset", "nope", ok=False)
    assert no_data.exit_code == 1 and "no dataset 'nope'" in no_data.output
    bad_task = cli("cotd", "--teacher", "tiny", "--subtasks", "principal,diagnosis", ok=False)
    assert bad_task.exit_code == 1 and "sub-tasks must be" in bad_task.output
    with read_session(engine) as s:
        assert len(s.scalars(select(Job).where(Job.kind == "cotd")).all()) == 1
    engine.dispose()
