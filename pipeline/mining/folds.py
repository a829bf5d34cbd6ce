"""Stratified K-fold assignment by principal code: deterministic for a seed, balanced in size."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from pipeline.errors import InputError


def assign_folds(case_ids: Sequence[str], strata: Sequence[str], k: int, seed: int) -> dict[str, int]:
    """case id → fold in [0, k). Each stratum is shuffled with ``seed`` and dealt round-robin; the dealing
    continues across strata so that fold sizes differ by at most one."""
    if k < 2:
        raise InputError(f"--folds must be at least 2, got {k}")
    if len(case_ids) < k:
        raise InputError(f"{len(case_ids)} labelled records cannot be split into {k} folds")
    by_stratum: dict[str, list[str]] = defaultdict(list)
    for cid, stratum in zip(case_ids, strata, strict=True):
        by_stratum[stratum].append(cid)
    rng = random.Random(seed)
    folds: dict[str, int] = {}
    position = 0
    for stratum in sorted(by_stratum):
        members = sorted(by_stratum[stratum])
        rng.shuffle(members)
        for cid in members:
            folds[cid] = position % k
            position += 1
    return folds
