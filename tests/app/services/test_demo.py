"""The demo database on a real SQLite file: every badcase in the review queue has at least 5 variants that
passed every filter, and those variants read as one coder wrote them."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from app.services.demo import build_demo
from db.engine import make_engine, read_session
from db.models import Badcase, Record, Round, Variant
from pipeline.augment.number_style import date_styles
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.domain.style_rules import introduced
from pipeline.settings import Settings

MIN_PASSED = 5


def test_each_queued_badcase_has_at_least_five_variants_that_passed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    start = time.perf_counter()
    demo = build_demo(make_engine(url), Settings(db_url=url, data_dir=tmp_path / "var"), force=False)
    seconds = time.perf_counter() - start
    engine = make_engine(url)
    with read_session(engine) as s:
        number = s.scalar(select(func.max(Round.number)))
        passed = dict(
            s.execute(
                select(Badcase.id, func.count(Variant.id))
                .join(Round, Round.id == Badcase.round_id)
                .join(Variant, Variant.badcase_id == Badcase.id)
                .where(Round.number == number, Variant.status == "generated", Variant.passed.is_(True))
                .group_by(Badcase.id)
            ).all()
        )
        # queued as the review queue queues them: a badcase still open or in review, its variants that passed
        queued = set(
            s.scalars(select(Badcase.id).where(Badcase.id.in_(passed), Badcase.status.in_(("open", "in_review"))))
        )
        rows = s.execute(
            select(Variant.sections, Record.sections)
            .join(Badcase, Badcase.id == Variant.badcase_id)
            .join(Record, Record.id == Badcase.record_id)
            .where(Variant.passed.is_(True))
        ).all()
    print(f"\ndemo built in {seconds:.1f} s; variants that passed per badcase: {sorted(passed.values())}")
    assert demo.filtered["passed"] == sum(passed.values())
    assert queued, "the demo's review queue is empty"
    for badcase in passed:  # queued now, or queued before the demo experts decided it
        assert passed[badcase] >= MIN_PASSED, (badcase, passed[badcase])
    assert len(rows) == sum(passed.values())
    for variant, original in rows:
        for name in TEXT_SECTIONS:
            assert introduced(original.get(name) or "", variant[name]) == [], name
        text = "".join(variant[name] for name in TEXT_SECTIONS)
        assert len(date_styles(text)) <= max(1, len(date_styles("".join(original.get(n) or "" for n in TEXT_SECTIONS))))
