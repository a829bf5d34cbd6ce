"""Fold assignment by patient on the real records: ids are ZY + admission number + 10-digit patient number."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.mining.folds import assign_folds, patient_of, several_admissions


def _real(shared_data: Path) -> tuple[list[str], list[str]]:
    rows = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))
    return [r["病案标识"] for r in rows], [r["主要诊断编码"] for r in rows]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_patient_is_split_across_folds(shared_data: Path, seed: int) -> None:
    ids, strata = _real(shared_data)
    folds = assign_folds(ids, strata, 5, seed)
    by_patient: dict[str, set[int]] = defaultdict(set)
    for cid in ids:
        by_patient[patient_of(cid)].add(folds[cid])
    assert several_admissions(ids) == 2  # the data's README: two patients with two admissions each
    assert all(len(f) == 1 for f in by_patient.values())
    sizes = [list(folds.values()).count(k) for k in range(5)]
    assert max(sizes) - min(sizes) <= 2  # one group of two may tip a fold


def test_record_grouping_splits_them_and_single_records_deal_as_before() -> None:
    ids = ["ZY010000000001", "ZY020000000001", "A", "B", "C", "D"]
    strata = ["x", "x", "x", "y", "y", "x"]
    patient = assign_folds(ids, strata, 2, 0)
    assert patient["ZY010000000001"] == patient["ZY020000000001"]
    assert patient_of("A") == "A" and patient_of("ZY0100000000019") == "ZY0100000000019"  # 11 digits: not a patient id
    # With every record its own group, patient and record grouping deal identically.
    singles = ["ZY010000000001", "ZY010000000002", "A", "B"]
    assert assign_folds(singles, ["x", "y", "x", "y"], 2, 3) == assign_folds(
        singles, ["x", "y", "x", "y"], 2, 3, "record"
    )
    with pytest.raises(InputError, match="fold group 'ward' is not one of patient, record"):
        assign_folds(ids, strata, 2, 0, "ward")
