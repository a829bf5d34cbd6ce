"""K-fold assignment: stratified by principal code, deterministic for a seed, balanced in size, and by patient.

Record ids are ``ZY`` + a 2-digit admission number + a 10-digit patient number; two admissions of one patient
share most of their history, so a fold that holds one while training on the other leaks. With ``group =
"patient"`` (the default) all records of one patient are dealt together, into one fold; ids of any other form
are their own group. Every K-fold in the tool (mining with the baseline or an LLM learner, the retrained
baseline's out-of-fold score) uses this one assignment.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from pipeline.domain.vocabulary import FOLD_GROUPS
from pipeline.errors import InputError

_PATIENT_ID = re.compile(r"^ZY\d{2}(\d{10})$")


def patient_of(case_id: str) -> str:
    """The patient number of a ``ZY``-form id, else the id itself (its own group)."""
    m = _PATIENT_ID.match(case_id)
    return f"patient:{m.group(1)}" if m else case_id


def several_admissions(case_ids: Sequence[str]) -> int:
    """How many patients have more than one record among ``case_ids``."""
    counts = Counter(patient_of(c) for c in case_ids)
    return sum(1 for key, n in counts.items() if n > 1 and key.startswith("patient:"))


def assign_folds(
    case_ids: Sequence[str], strata: Sequence[str], k: int, seed: int, group: str = "patient"
) -> dict[str, int]:
    """case id → fold in [0, k). Groups (a patient's records, or single records) are bucketed by the stratum of
    their first record, each bucket shuffled with ``seed`` and dealt round-robin; the dealing continues across
    strata so that fold sizes differ by at most one when every group is a single record (by at most the
    largest group otherwise)."""
    if group not in FOLD_GROUPS:
        raise InputError(f"fold group {group!r} is not one of {', '.join(FOLD_GROUPS)}")
    if k < 2:
        raise InputError(f"--folds must be at least 2, got {k}")
    if len(case_ids) < k:
        raise InputError(f"{len(case_ids)} labelled records cannot be split into {k} folds")
    members: dict[str, list[str]] = defaultdict(list)
    stratum_of: dict[str, str] = {}
    for cid, stratum in sorted(zip(case_ids, strata, strict=True)):
        key = patient_of(cid) if group == "patient" else cid
        members[key].append(cid)
        stratum_of.setdefault(key, stratum)
    by_stratum: dict[str, list[str]] = defaultdict(list)
    for key, first in ((key, ids[0]) for key, ids in members.items()):
        by_stratum[stratum_of[key]].append(first)
    first_to_key = {ids[0]: key for key, ids in members.items()}
    rng = random.Random(seed)
    folds: dict[str, int] = {}
    position = 0
    for stratum in sorted(by_stratum):
        firsts = sorted(by_stratum[stratum])
        rng.shuffle(firsts)
        for first in firsts:
            for cid in members[first_to_key[first]]:
                folds[cid] = position % k
            position += 1
    return folds
