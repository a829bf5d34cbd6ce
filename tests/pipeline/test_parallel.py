"""Work spread over processes gives what one process gives, in the same order."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.augment.filters import Candidate
from pipeline.augment.filters.facts import FactsFilter
from pipeline.augment.rewriting import RuleRewriter, VariantRequest
from pipeline.domain.records import ID_KEY, MAIN_KEY, TEXT_SECTIONS
from pipeline.parallel import imap, map_chunks, worker_count


@pytest.mark.parametrize(
    ("requested", "items", "min_chunk", "expected"),
    [
        (2, 1000, 100, 2),
        (4, 250, 100, 2),  # never a chunk below min_chunk
        (8, 99, 100, 1),
        (1, 1000, 100, 1),
        (3, 0, 100, 1),
    ],
)
def test_worker_count(requested: int, items: int, min_chunk: int, expected: int) -> None:
    assert worker_count(requested, items, min_chunk) == expected


def test_worker_count_defaults_to_the_cores() -> None:
    assert worker_count(None, 10**6, 1) == worker_count(0, 10**6, 1) == (os.cpu_count() or 1)


def _pids_and_squares(chunk: list[int]) -> tuple[int, list[int]]:
    return os.getpid(), [x * x for x in chunk]


def test_map_chunks_keeps_order_and_uses_other_processes() -> None:
    parts = map_chunks(_pids_and_squares, list(range(301)), workers=3, min_chunk=100)
    assert [x for _pid, squares in parts for x in squares] == [x * x for x in range(301)]
    assert [len(squares) for _pid, squares in parts] == [100, 100, 101]
    assert os.getpid() not in {pid for pid, _ in parts}
    assert map_chunks(_pids_and_squares, [1, 2], workers=3, min_chunk=100) == [(os.getpid(), [1, 4])]


@pytest.fixture(scope="module")
def originals(shared_data: Path) -> list[dict]:
    rows = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))[:24]
    return [{k: r.get(k) or "" for k in (ID_KEY, MAIN_KEY, *TEXT_SECTIONS)} for r in rows]


def test_rule_rewrites_are_the_same_from_two_processes(originals: list[dict]) -> None:
    requests = [VariantRequest(o, k % 3, 4, 7) for k, o in enumerate(originals)]
    spread = list(RuleRewriter(workers=2).variants_many(requests))
    alone = [RuleRewriter(workers=1).variants(r.sections, r.start, r.n, r.seed) for r in requests]
    assert spread == alone and all(len(m) == 4 for m in spread)


def test_facts_verdicts_are_the_same_from_two_processes(originals: list[dict]) -> None:
    made = list(RuleRewriter(workers=1).variants_many([VariantRequest(o, 0, 20, 0) for o in originals]))
    pairs = [(b, v.sections or {}) for b, variants in enumerate(made) for v in variants]
    pairs[0] = (0, {**pairs[0][1], "入院情况": pairs[0][1]["入院情况"] + " 血压180/100mmHg"})  # an invented fact
    batch = [
        Candidate(i, b, i, originals[b][ID_KEY], sections, originals[b], originals[b][MAIN_KEY], ())
        for i, (b, sections) in enumerate(pairs)
    ]
    assert len(batch) >= 400  # two chunks of at least 200
    spread, alone = FactsFilter(workers=2).judge(batch), FactsFilter(workers=1).judge(batch)
    assert spread == alone and not spread[0].passed


def _pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def test_imap_keeps_order_and_uses_other_processes() -> None:
    results = list(imap(_pid_and_square, list(range(7)), workers=2, min_items=2))
    assert [square for _pid, square in results] == [x * x for x in range(7)]
    assert os.getpid() not in {pid for pid, _ in results}
    assert list(imap(_pid_and_square, [3], workers=2, min_items=2)) == [(os.getpid(), 9)]  # too few: here
