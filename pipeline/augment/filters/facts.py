"""Clinical facts preserved: numbers with units, admission diagnoses, negations and laterality."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.augment.filters import Candidate, Verdict
from pipeline.domain.facts import compare_facts, facts_digest, same_facts
from pipeline.parallel import map_chunks


class FactsFilter:
    name = "facts"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def judge(self, batch: Sequence[Candidate]) -> list[Verdict]:
        # The variants whose kept facts are their original's are judged here: shipping them to worker processes
        # would cost more than the comparison. The others have their facts read, spread over the workers.
        originals: dict[int, str] = {}  #: badcase → its original's facts digest, read once
        for c in batch:
            if c.facts is not None and c.badcase_id not in originals:
                originals[c.badcase_id] = facts_digest(c.original)
        verdicts: list[Verdict | None] = [
            _kept() if c.facts is not None and c.facts == originals[c.badcase_id] else None for c in batch
        ]
        rest = [c for c, v in zip(batch, verdicts, strict=True) if v is None]
        read = iter([v for part in map_chunks(_judge, rest, self.workers, min_chunk=200) for v in part])
        return [v if v is not None else next(read) for v in verdicts]


def _kept() -> Verdict:
    return Verdict(True, "every fact kept", {"dropped": [], "invented": []})


def _judge(batch: list[Candidate]) -> list[Verdict]:
    out = []
    for c in batch:
        # Each changed section's facts: when every one reads as in the original, no multiset need be built.
        if same_facts(c.original, c.sections):
            out.append(_kept())
            continue
        dropped, invented = compare_facts(c.original, c.sections)
        detail = {
            "dropped": [f"{f.kind}:{f.value}" for f in dropped],
            "invented": [f"{f.kind}:{f.value}" for f in invented],
        }
        if not dropped and not invented:
            out.append(Verdict(True, "every fact kept", detail))
            continue
        parts = []
        if dropped:
            parts.append("dropped " + "; ".join(f"{f.kind} {f.value}" for f in dropped[:5]))
        if invented:
            parts.append("invented " + "; ".join(f"{f.kind} {f.value}" for f in invented[:5]))
        out.append(Verdict(False, ", ".join(parts), detail))
    return out
