"""The regex prefilter: what every match must contain, and that skipping never changes a result."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.domain.records import TEXT_SECTIONS
from training.baseline.features import _sections
from training.baseline.rules import _SYNONYM_GATES, LOCATIONS
from training.regex_gate import GatedPatterns, requirement


@pytest.mark.parametrize(
    ("pattern", "flags", "expected"),
    [
        ("冠心病", 0, [{"冠心病"}]),
        ("冠心病|CHD", 0, [{"冠心病"}, {"CHD"}]),
        ("冠心病|CHD", re.I, [{"冠心病"}, {"chd"}]),  # looked up in the case-folded text
        ("TnI", re.I, [{"tn"}]),  # i is left out: re.I also matches İ and ı, which fold elsewhere
        ("(?:慢性)?心衰[^。]{0,4}急性(?:加重|失代偿)", 0, [{"心衰", "急性", "加重"}, {"心衰", "急性", "失代偿"}]),
        ("心?肌桥", 0, [{"肌桥"}]),
        ("(?<!陈旧)脑梗[死塞]?", 0, [{"脑梗"}]),  # a look-behind requires nothing
        ("(?:房早)+", 0, [{"房早"}]),  # a repeat of at least one requires its item
        ("(?:房早)*", 0, [set()]),
        ("心衰|.*", 0, [set()]),  # one branch that requires nothing: always scan
        ("(?i:abc)", 0, [set()]),  # local flags are not worth the care
    ],
)
def test_requirements(pattern: str, flags: int, expected: list[set[str]]) -> None:
    assert [set(alt) for alt in requirement(re.compile(pattern, flags))] == expected


def test_may_match_on_small_texts() -> None:
    gates = GatedPatterns([re.compile("冠心病|CHD", re.I), re.compile("房颤"), re.compile("K+", re.I)])
    assert gates.may_match("既往冠心病史") == [True, False, False]
    assert gates.may_match("chd, 房颤") == [True, True, False]
    kelvin = "\u212a"  # re.I matches it with k, and it folds to k
    assert gates.may_match(kelvin) == [False, False, True] and gates.patterns[2].search(kelvin)


def test_skipping_never_changes_a_synonym_count_on_real_records(shared_data: Path) -> None:
    rows = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))
    texts = []
    for r in rows:
        sec = _sections({k: r.get(k) or "" for k in TEXT_SECTIONS})
        texts += ["\n".join(sec[k] for k in keys) for keys in LOCATIONS.values()]
    skipped = misses = 0
    for text in texts:
        for rx, may in zip(_SYNONYM_GATES.patterns, _SYNONYM_GATES.may_match(text), strict=True):
            found = rx.search(text) is not None
            assert may or not found, (rx.pattern, text[:80])
            misses += not found
            skipped += not may
    assert skipped > 0.8 * misses  # the point of it: most patterns that cannot match are not scanned


def test_pieces_are_looked_up_clause_by_clause_and_each_clause_once() -> None:
    """A text's pieces are the union of its clauses' (cut after 。 ; , : and line breaks); a clause seen before, in
    this text or another, is not searched again."""
    gates = GatedPatterns([re.compile("冠心病[^。]{0,9}房颤"), re.compile("高血压")])
    assert gates.may_match("既往冠心病,\n现房颤。") == [True, False]  # the pieces of one pattern in two clauses
    assert gates.may_match("既往冠心病,无高血压。") == [False, True]
    assert gates._mask.cache_info().misses == 5  # 既往冠心病, / \n / 现房颤。 / (the empty end) / 无高血压。
    assert gates.may_match("冠心") == [False, False]  # a piece is never found in part


def test_a_piece_that_holds_a_cut_character_is_looked_up_in_the_whole_text() -> None:
    gates = GatedPatterns([re.compile("心衰,急性加重")])
    assert gates.may_match("心衰,急性加重") == [True]
