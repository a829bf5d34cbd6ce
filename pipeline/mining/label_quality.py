"""How likely each record's gold codes are wrong: cleanlab's label-quality scores over the out-of-fold evidence.

K-fold mining leaves, per record, evidence no model trained on that record produced: the baseline's probabilities
(``principal_p``, ``other_p``), or an LLM's answers (TCECP samples, an ensemble's folds), read as frequencies —
the share of answers naming each principal code, the share of answered sets holding each other code. cleanlab
scores the principal as a multiclass label and the other codes as a multilabel one (per code: present or absent,
pooled over the codes by an exponential moving average that weighs the worst most, so a code the evidence is sure
of and the gold lacks counts too; the hand-written confidence this replaces looked only at the gold codes), both by
its confidence-weighted entropy: the probability of the gold label weighed against how unsure the evidence is
overall. The label-error confidence is ``1 − (0.5 × principal quality + 0.5 × other-code quality)``, weighed as the
metric weighs them.

bench/bench_label_issues.py measures it on the real records with 10 % of the labels flipped on purpose: precision
of the top k flagged (k = the flips) 0.44 against 0.29 for the hand-written confidence over seeds 0–2, where
cleanlab's plain self-confidence gave 0.30 and its normalised margin 0.25.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

Gold = tuple[str, Sequence[str]]
#: cleanlab's label-quality score (bench/bench_label_issues.py compares them)
METHOD = "confidence_weighted_entropy"
#: Probabilities are kept this far from 0 and 1: the entropy of a certain answer is 0, which the method cannot weigh
#: (three votes of three, or a probability rounded to 1.0, scored the record as a sure label error), and a handful
#: of votes is no certainty anyway.
FLOOR = 0.01


def _frequencies(evidence: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """(principal code → probability, other code → probability) from probabilities or from votes."""
    if "principal_p" in evidence:
        return dict(evidence["principal_p"]), dict(evidence.get("other_p") or {})
    answers = [a for a in evidence.get("principal") or [] if a]
    sets = [set(s) for s in evidence.get("other") or []]
    main = {c: answers.count(c) / len(answers) for c in set(answers)} if answers else {}
    others = {c: sum(c in s for s in sets) / len(sets) for s in sets for c in s} if sets else {}
    return main, others


def label_issue_confidences(gold: Sequence[Gold], evidence: Sequence[Mapping[str, Any] | None]) -> list[float | None]:
    """Per record, in [0, 1], how strongly its out-of-fold evidence goes against its gold codes; None for a record
    without evidence. The scores are the whole dataset's: cleanlab reads every record's evidence at once."""
    from cleanlab.multilabel_classification.rank import get_label_quality_scores as multilabel_quality
    from cleanlab.rank import get_label_quality_scores as multiclass_quality

    rows = [i for i, e in enumerate(evidence) if e and (e.get("principal_p") or e.get("principal") or e.get("other"))]
    out: list[float | None] = [None] * len(gold)
    if not rows:
        return out
    freqs = [_frequencies(evidence[i]) for i in rows]  # type: ignore[arg-type]
    mains = sorted({gold[i][0] for i in rows} | {c for m, _ in freqs for c in m})
    others = sorted({c for i in rows for c in gold[i][1]} | {c for _, o in freqs for c in o})
    P = np.array([[m.get(c, 0.0) for c in mains] for m, _ in freqs], dtype=float)
    P = np.clip(P, FLOOR, None)
    P /= P.sum(axis=1, keepdims=True)
    main_labels = np.array([mains.index(gold[i][0]) for i in rows])
    main_q = (
        multiclass_quality(main_labels, P, method=METHOD) if len(mains) > 1 else P[np.arange(len(rows)), main_labels]
    )
    if others:
        # cleanlab's multilabel checks want two columns at least: a column no record has and none is predicted
        # changes no record's score (its quality is 1 in every row).
        width = max(2, len(others))
        probs = np.zeros((len(rows), width))
        for r, (_, o) in enumerate(freqs):
            for j, c in enumerate(others):
                probs[r, j] = min(1.0 - FLOOR, max(FLOOR, float(o.get(c, 0.0))))
        other_labels = [[others.index(c) for c in gold[i][1]] for i in rows]
        other_q = multilabel_quality(other_labels, probs, method=METHOD)
    else:
        other_q = np.ones(len(rows))
    for r, i in enumerate(rows):
        out[i] = round(float(1.0 - (0.5 * main_q[r] + 0.5 * other_q[r])), 4)
    return out
