"""Deciding the other-code set of one record from the baseline coder's per-code probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Codes of which a record carries at most one (in the label space's own sense: one hypertension
#: grade/risk, one NYHA grade, one Killip grade, one kind of atrial fibrillation, one diabetes code).
EXCLUSIVE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"I10.x00x023", "I10.x00x024", "I10.x00x027", "I10.x00x028", "I10.x00x031", "I10.x00x032"}),
    frozenset({"I50.900x007", "I50.900x008", "I50.900x010"}),
    frozenset({"I50.900x014", "I50.900x015", "I50.900x016"}),
    frozenset({"I48.x01", "I48.x02"}),
    frozenset({"E11.900", "E14.900x001"}),
    frozenset({"I49.300x001", "I49.300x002"}),
    frozenset({"I49.100x001", "I49.100x002"}),
)


def _choose_others(
    principal: str,
    probs: np.ndarray,
    codes: Sequence[str],
    strategy: str,
    threshold: float,
    min_other: int,
    max_other: int,
) -> list[str]:
    """Pick the other-code set of one record from per-code probabilities."""
    p = probs.astype(np.float64).copy()
    index = {c: i for i, c in enumerate(codes)}
    if principal in index:
        p[index[principal]] = 0.0
    for group in EXCLUSIVE_GROUPS:
        members = [index[c] for c in group if c in index]
        if not members:
            continue
        if principal in group:  # the principal code already says it (e.g. grade-3 hypertension)
            p[members] = 0.0
            continue
        best = max(members, key=lambda i: p[i])
        for i in members:
            if i != best:
                p[i] = 0.0
    order = [i for i in np.argsort(-p, kind="stable") if p[i] > 0]
    if strategy == "expected_f1":
        # Plug-in expected F1 of the top-k set: 2·Σ_{i≤k} p_i / (k + Σ_all p_i), maximised over k.
        total = float(p.sum())
        best_k, best_v, running = 0, -1.0, 0.0
        for k, i in enumerate(order[:max_other], start=1):
            running += float(p[i])
            v = 2 * running / (k + total)
            if v > best_v:
                best_k, best_v = k, v
        k = best_k
    else:
        k = sum(1 for i in order[:max_other] if p[i] >= threshold)
    k = max(k, min(min_other, len(order)))
    return [codes[i] for i in order[:k]]
