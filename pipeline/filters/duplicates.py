"""Near duplicates (rapidfuzz): a no-op rewrite of the original, or a copy of an earlier variant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from rapidfuzz.distance import Indel

from pipeline.filters import Candidate, Verdict
from pipeline.records import TEXT_SECTIONS


def similarity(a: Mapping[str, str], b: Mapping[str, str]) -> float:
    """rapidfuzz's ``fuzz.ratio`` of two records' texts, aligned section by section: the Indel distance is
    summed over the sections (an unchanged one costs nothing) instead of aligning some 3,000 characters as
    one string, which made this filter a bottleneck. It can only be lower than the whole-text ratio (an
    alignment across section borders may match more); records whose sections correspond give the same."""
    # Both texts as record_text writes them: "name：value" per section, joined by line breaks.
    length = 2 * (len(TEXT_SECTIONS) - 1) + sum(
        2 * (len(k) + 1) + len(a.get(k) or "") + len(b.get(k) or "") for k in TEXT_SECTIONS
    )
    distance = sum(Indel.distance(a.get(k) or "", b.get(k) or "") for k in TEXT_SECTIONS if a.get(k) != b.get(k))
    return 100.0 * (1.0 - distance / length)


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
            kept: list[Candidate] = []  # earlier variants that are not duplicates themselves
            for c in sorted(group, key=lambda x: x.seq):
                sim = similarity(c.sections, c.original)
                nearest, nearest_sim = None, 0.0
                for other in kept:
                    s = similarity(c.sections, other.sections)
                    if s > nearest_sim:
                        nearest, nearest_sim = other, s
                detail = {
                    "similarity_to_original": round(sim, 2),
                    "nearest_variant": nearest.seq if nearest else None,
                    "similarity_to_nearest": round(nearest_sim, 2),
                }
                if sim >= self.to_original:
                    verdicts[c.variant_id] = Verdict(False, f"no-op: {sim:.1f}% like the original", detail)
                elif nearest is not None and nearest_sim >= self.to_sibling:
                    verdicts[c.variant_id] = Verdict(
                        False, f"duplicate of variant {nearest.seq} ({nearest_sim:.1f}% alike)", detail
                    )
                else:
                    verdicts[c.variant_id] = Verdict(True, f"{sim:.1f}% like the original", detail)
                    kept.append(c)
        return [verdicts[c.variant_id] for c in batch]
