"""TCECP inference (paper §2.5) and plain greedy decoding, over any text generator.

Principal code: answer at T=0 and sample once at T=0.7; if the two differ, sample a third at T=0.7 and
take the majority; if all three differ, keep the T=0 answer. Other codes: sets at T=0, 0.7 and 0.7;
keep the codes present in at least two of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

T_GREEDY, T_SAMPLE = 0.0, 0.7


def vote_principal(answers: Sequence[str | None]) -> str | None:
    """``answers`` = [greedy, sample] when they agree, else [greedy, sample, third]; None is an unreadable answer."""
    greedy, sample, *rest = answers
    if greedy == sample:
        return greedy
    if len(rest) != 1:
        raise ValueError("the first two answers differ: exactly one third sample is needed")
    third = rest[0]
    if third in (greedy, sample):
        return third
    return greedy  # all three differ


def vote_others(sets: Sequence[Sequence[str]], min_votes: int = 2) -> list[str]:
    """Codes in at least ``min_votes`` of the sets, in the order they first appear."""
    counts = Counter(code for s in sets for code in set(s))
    order: list[str] = []
    for s in sets:
        for code in s:
            if counts[code] >= min_votes and code not in order:
                order.append(code)
    return order
