"""Near duplicates (rapidfuzz): a no-op rewrite of the original, or a copy of an earlier variant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from rapidfuzz import fuzz

from pipeline.filters import Candidate, Verdict


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
            kept: list[tuple[Candidate, str]] = []  # earlier variants that are not duplicates themselves
            original = group[0].original_text()
            for c in sorted(group, key=lambda x: x.seq):
                text = c.text()
                sim = fuzz.ratio(text, original)
                nearest, nearest_sim = None, 0.0
                for other, other_text in kept:
                    s = fuzz.ratio(text, other_text, score_cutoff=nearest_sim)
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
                    kept.append((c, text))
        return [verdicts[c.variant_id] for c in batch]
