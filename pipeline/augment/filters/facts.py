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
        return [v for part in map_chunks(_judge, batch, self.workers, min_chunk=200) for v in part]


def _judge(batch: list[Candidate]) -> list[Verdict]:
    out = []
    originals: dict[int, str] = {}  #: badcase → its original's facts digest, read once
    for c in batch:
        if c.facts is not None and c.badcase_id not in originals:
            originals[c.badcase_id] = facts_digest(c.original)
        # The facts the generator kept, or else each changed section's: the rule generator's variants all keep every
        # fact, and neither way builds the record's multisets.
        if (c.facts is not None and c.facts == originals[c.badcase_id]) or same_facts(c.original, c.sections):
            out.append(Verdict(True, "every fact kept", {"dropped": [], "invented": []}))
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
