"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import make_engine, read_session
from db.models import Badcase, Record, Variant
from tests.helpers import Cli, mine_real_records


@pytest.fixture
def rewritten(cli: Cli, db_url: str, shared_data: Path) -> dict[str, tuple[str, list[str]]]:
    """Round 1 with two badcases × 3 rule-based variants; variant id (病案标识#v<seq>) → its gold codes."""
    cli("db", "init")
    engine = make_engine(db_url)
    mine_real_records(engine, shared_data)
    cli("rewrite", "--round", "1", "--n", "3")
    with read_session(engine) as s:
        rows = s.execute(
            select(Record.case_id, Variant.seq, Badcase.gold_principal, Record.other_codes)
            .join(Badcase, Badcase.id == Variant.badcase_id)
            .join(Record, Record.id == Badcase.record_id)
        ).all()
    engine.dispose()
    return {f"{case_id}#v{seq}": (main, list(others or [])) for case_id, seq, main, others in rows}
