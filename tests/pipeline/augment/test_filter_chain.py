"""The filter chain's order: the policy model judges exactly the variants every other filter passed.

The label filter here is a declared stub (it passes even-numbered variants: no model could be told to do
that), and the policy filter is a recording stub, so the test sees which variants reached it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import Badcase, Variant, VariantVerdict
from pipeline.augment.filter_chain import filter_round, funnel, survivors
from pipeline.augment.filters import Candidate, Verdict
from pipeline.augment.filters.length import LengthFilter
from pipeline.augment.rewriting import RewriteConfig, generate_round
from pipeline.ingest.importer import import_file
from pipeline.mining.kfold import MiningConfig, mine
from tests.helpers import Counting, Oracle, mine_synthetic


class EvenLabel:
    """Stub label predictor's verdicts: even variant numbers keep their labels, odd ones do not."""

    name = "label"

    def judge(self, batch: Sequence[Candidate]) -> list[Verdict]:
        return [Verdict(c.seq % 2 == 0, "stub") for c in batch]


class RecordingPolicy:
    name = "policy"
    survivors_only = True

    def __init__(self) -> None:
        self.seen: list[int] = []

    def judge(self, batch: Sequence[Candidate]) -> list[Verdict]:
        self.seen += [c.variant_id for c in batch]
        return [Verdict(c.seq % 4 == 0, "stub policy") for c in batch]


def test_the_policy_model_sees_exactly_the_label_filters_survivors(engine: Engine, shared_data: Path) -> None:
    import_file(engine, shared_data / "ccl25_train_206.json", "train", "t", 2**30)
    with read_session(engine) as s:
        from db.models import Record

        ids = set(s.scalars(select(Record.case_id).where(Record.principal_code != "I50.900x018").limit(3)))
    mine(engine, lambda _fold: Oracle(ids, set(), []), MiningConfig(), "t")
    generate_round(engine, RewriteConfig(round_no=1, n=6), Counting(), "t")
    policy = RecordingPolicy()
    # Listed first on purpose: the chain still runs it last.
    report = filter_round(engine, 1, [policy, EvenLabel(), LengthFilter()], "t", badcases_per_batch=2)

    with read_session(engine) as s:
        variants = s.scalars(select(Variant).join(Badcase, Badcase.id == Variant.badcase_id)).all()
        verdicts = {(v.variant_id, v.filter): v.passed for v in s.scalars(select(VariantVerdict))}
    survivors = {v.id for v in variants if verdicts[(v.id, "label")] and verdicts[(v.id, "length")]}
    assert len(variants) == 18 and 0 < len(survivors) < len(variants)
    assert sorted(policy.seen) == sorted(survivors)
    # A variant the label filter dropped carries no policy verdict, and fails.
    assert all((v.id, "policy") not in verdicts and v.passed is False for v in variants if v.id not in survivors)
    assert report.passed == sum(1 for v in variants if v.seq % 4 == 0)
    assert [name for name, _n in funnel(engine, 1)] == ["generated", "label", "length", "policy"]


class InStepLabel(EvenLabel):
    """Two of these, one per concurrent filter run, hand over their verdicts at the same moment."""

    def __init__(self, step: threading.Barrier) -> None:
        self.step = step

    def judge(self, batch: Sequence[Candidate]) -> list[Verdict]:
        self.step.wait()
        return super().judge(batch)


def test_two_filter_runs_at_once_leave_one_verdict_per_filter(engine: Engine, shared_data: Path) -> None:
    """Both runs replace the batch's verdicts: under the badcases' locks (PostgreSQL) or BEGIN IMMEDIATE
    (SQLite) the second replaces the first's, instead of failing on a duplicate verdict."""
    import_file(engine, shared_data / "ccl25_train_206.json", "train", "t", 2**30)
    with read_session(engine) as s:
        from db.models import Record

        ids = set(s.scalars(select(Record.case_id).where(Record.principal_code != "I50.900x018").limit(3)))
    mine(engine, lambda _fold: Oracle(ids, set(), []), MiningConfig(), "t")
    generate_round(engine, RewriteConfig(round_no=1, n=4), Counting(), "t")
    step, errors = threading.Barrier(2, timeout=60), []

    def run() -> None:
        try:
            filter_round(engine, 1, [InStepLabel(step), LengthFilter()], "t")
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)
            step.abort()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with read_session(engine) as s:
        verdicts = [(v.variant_id, v.filter) for v in s.scalars(select(VariantVerdict))]
    assert len(verdicts) == 12 * 2 and len(set(verdicts)) == len(verdicts)


class RejectCase:
    """Stub label verdicts: every variant of one record fails (as a coder that never gets it right would)."""

    name = "label"

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id

    def judge(self, batch: Sequence[Candidate]) -> list[Verdict]:
        return [Verdict(c.case_id != self.case_id, f"stub: {c.case_id} never kept") for c in batch]


def test_survivors_name_each_badcase_left_without_a_variant_and_why(engine: Engine) -> None:
    ids = mine_synthetic(engine, misses=3)
    generate_round(engine, RewriteConfig(round_no=1, n=4), Counting(), "t")
    filter_round(engine, 1, [RejectCase(ids[0]), LengthFilter()], "t")
    kept = {x.case_id: x for x in survivors(engine, 1)}
    assert set(kept) == set(ids) and all(x.judged == 4 for x in kept.values())
    assert kept[ids[0]].passed == 0 and kept[ids[0]].why == f"label rejected 4 (e.g. stub: {ids[0]} never kept)"
    assert all(kept[c].passed == 4 and kept[c].why is None for c in ids[1:])
