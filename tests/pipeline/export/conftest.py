"""Fixtures of the export tests."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import Variant
from pipeline.review.queue import decide


@pytest.fixture
def reviewed(engine: Engine, queue: dict[str, int]) -> dict[str, object]:
    """Badcase 1: best = its variant 0 (score 5) and variant 1 approved (score 2); badcase 2: best = variant 1
    (score 4); badcase 3: variant 0 rejected."""
    e1 = queue["e1"]
    with read_session(engine) as s:
        by_badcase: dict[int, list[int]] = {}
        for v in s.scalars(select(Variant).order_by(Variant.badcase_id, Variant.seq)):
            by_badcase.setdefault(v.badcase_id, []).append(v.id)
    b1, b2, b3 = sorted(by_badcase)
    decide(engine, e1, by_badcase[b1][1], "approve", score=2)
    decide(engine, e1, by_badcase[b1][0], "approve", best=True, score=5)
    decide(engine, e1, by_badcase[b2][1], "approve", best=True, score=4)
    decide(engine, e1, by_badcase[b3][0], "reject", score=1)
    return {"best": {by_badcase[b1][0], by_badcase[b2][1]}, "approved_extra": by_badcase[b1][1]}
