"""Near duplicates (rapidfuzz): a no-op rewrite of the original, or a copy of an earlier variant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from rapidfuzz.distance import Indel
from rapidfuzz.process import cdist

from pipeline.augment.filters import Candidate, Verdict
from pipeline.domain.records import TEXT_SECTIONS


def similarities(records: Sequence[Mapping[str, str]]) -> np.ndarray:
    """rapidfuzz's ``fuzz.ratio`` between every two records' texts (as ``record_text`` writes them),
    aligned section by section: the Indel distance is summed over sections, each section's distances
    computed for all pairs at once in rapidfuzz's C++ (an unchanged section costs next to nothing),
    instead of aligning some 3,000 characters as one string per pair. It can only be lower than the
    whole-text ratio (an alignment across section borders may match more); on the real records'
    rewrites the two agree exactly."""
    n = len(records)
    distance = np.zeros((n, n), dtype=np.int64)
    length = np.full(n, len(TEXT_SECTIONS) - 1, dtype=np.int64)  # the line breaks between sections
    for k in TEXT_SECTIONS:
        texts = [r.get(k) or "" for r in records]
        length += np.asarray([len(k) + 1 + len(t) for t in texts])  # "name：value"
        if len(set(texts)) > 1:
            distance += cdist(texts, texts, scorer=Indel.distance, dtype=np.int64)
    return 100.0 * (1.0 - distance / (length[:, None] + length[None, :]))


class DuplicateFilter:
    name = "duplicates"

    def __init__(self, max_similarity_to_original: float = 99.0, max_similarity_to_sibling: float = 98.0) -> None:
        self.to_original, self.to_sibling = max_similarity_to_original, max_similarity_to_sibling

    def judge(self, batch: Sequence[Candidate]) -> list[Verdict]:
        verdicts: dict[int, Verdict] = {}
        by_badcase: dict[int, list[Candidate]] = defaultdict(list)
        for c in batch:
            by_badcase[c.badcase_id].append(c)
        for group in by_badcase.values():
            ordered = sorted(group, key=lambda x: x.seq)
            sim = similarities([ordered[0].original, *(c.sections for c in ordered)])  # row/column 0: the original
            kept: list[int] = []  # positions of earlier variants that are not duplicates themselves
            for i, c in enumerate(ordered, 1):
                nearest, nearest_sim = None, 0.0
                for j in kept:
                    if sim[i, j] > nearest_sim:
                        nearest, nearest_sim = ordered[j - 1], float(sim[i, j])
                to_original = float(sim[i, 0])
                detail = {
                    "similarity_to_original": round(to_original, 2),
                    "nearest_variant": nearest.seq if nearest else None,
                    "similarity_to_nearest": round(nearest_sim, 2),
                }
                if to_original >= self.to_original:
                    verdicts[c.variant_id] = Verdict(False, f"no-op: {to_original:.1f}% like the original", detail)
                elif nearest is not None and nearest_sim >= self.to_sibling:
                    verdicts[c.variant_id] = Verdict(
                        False, f"duplicate of variant {nearest.seq} ({nearest_sim:.1f}% alike)", detail
                    )
                else:
                    verdicts[c.variant_id] = Verdict(True, f"{to_original:.1f}% like the original", detail)
                    kept.append(i)
        return [verdicts[c.variant_id] for c in batch]
