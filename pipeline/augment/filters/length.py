"""Length: a variant far shorter or longer than its original lost or added content."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.augment.filters import Candidate, Verdict


class LengthFilter:
    name = "length"

    def __init__(self, min_ratio: float = 0.8, max_ratio: float = 1.25) -> None:
        self.min_ratio, self.max_ratio = min_ratio, max_ratio

    def judge(self, batch: Sequence[Candidate]) -> list[Verdict]:
        out = []
        for c in batch:
            ratio = len(c.text()) / max(1, len(c.original_text()))
            detail = {"ratio": round(ratio, 3)}
            if ratio < self.min_ratio:
                out.append(
                    Verdict(False, f"{ratio:.0%} of the original's length (minimum {self.min_ratio:.0%})", detail)
                )
            elif ratio > self.max_ratio:
                out.append(
                    Verdict(False, f"{ratio:.0%} of the original's length (maximum {self.max_ratio:.0%})", detail)
                )
            else:
                out.append(Verdict(True, f"{ratio:.0%} of the original's length", detail))
        return out
