"""Agreement between experts, in the statistics reviewers' leads know, each with the number of items it rests on.

- decisions (approve / reject) on variants: Cohen's kappa for every pair of experts (scikit-learn), Fleiss'
  kappa for the round (statsmodels) over the variants rated by the most common number of experts;
- best picks per badcase: Krippendorff's alpha, nominal (the ``krippendorff`` package; missing picks allowed);
- 1–5 scores on variants: Krippendorff's alpha, ordinal;
- per expert: decisions, median seconds per decision, approve rate, agreement with the other experts' majority.

Only active reviews count (an undone review is not a decision; a skip is not one either). A statistic that has
too few items or no variation (every expert always approving) is ``None``: "not enough to say", never 1.0.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import Badcase, Review, User
from pipeline.rounds.lookup import find_round, stored_config

DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class Statistic:
    name: str
    value: float | None  #: None: too few items, or no variation to measure agreement on
    items: int  #: what it rests on (variants, badcases)
    raters: int


@dataclass(frozen=True)
class PairKappa:
    expert_a: str
    expert_b: str
    kappa: float | None
    items: int  #: variants both decided


@dataclass(frozen=True)
class ExpertFigures:
    expert: str
    decisions: int
    median_seconds: float | None  #: per decision: active time (gaps of over a minute left out) where measured
    approve_rate: float | None
    agrees_with_majority: float | None  #: share of their decisions equal to the others' majority (no tie)
    compared: int  #: decisions that had such a majority


@dataclass(frozen=True)
class AgreementStats:
    round_no: int
    pairs: list[PairKappa]
    fleiss: Statistic
    best_alpha: Statistic
    score_alpha: Statistic
    experts: list[ExpertFigures]
    blind: bool = False  #: the round's blind review: each expert saw the others' votes only after voting

    def votes_line(self) -> str:
        return (
            "votes were blind: each expert saw the others' votes on a variant only after voting on it"
            if self.blind
            else "votes were not blind: experts could see each other's votes before voting"
        )

    def lines(self) -> list[str]:
        def fmt(v: float | None) -> str:
            return "—" if v is None else f"{v:.3f}"

        out = [f"round {self.round_no}: {self.votes_line()}"]
        for st in (self.fleiss, self.best_alpha, self.score_alpha):
            out.append(f"{st.name:<40} {fmt(st.value):>7}  ({st.items} items, {st.raters} experts)")
        for p in self.pairs:
            pair = f"Cohen's kappa {p.expert_a} · {p.expert_b}"
            out.append(f"{pair:<40} {fmt(p.kappa):>7}  ({p.items} variants)")
        for e in self.experts:
            rate = "—" if e.approve_rate is None else f"{e.approve_rate:.0%}"
            maj = "—" if e.agrees_with_majority is None else f"{e.agrees_with_majority:.0%} of {e.compared}"
            secs = "—" if e.median_seconds is None else f"{e.median_seconds:.0f} s"
            out.append(
                f"expert {e.expert:<12} decisions {e.decisions:<4} median active {secs:<6} approve {rate:<5} "
                f"with the majority {maj}"
            )
        return out


def _defined(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def cohen(a: list[str], b: list[str]) -> float | None:
    """Cohen's kappa of two experts' decisions on the same variants (None below 2 items or without variation)."""
    from sklearn.metrics import cohen_kappa_score

    if len(a) < 2 or len(set(a) | set(b)) < 2:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        return _defined(cohen_kappa_score(a, b))


def fleiss(decisions: dict[int, dict[int, str]]) -> Statistic:
    """Fleiss' kappa over the variants rated by the most common number (≥ 2) of experts."""
    from statsmodels.stats.inter_rater import fleiss_kappa

    counts = Counter(len(r) for r in decisions.values() if len(r) >= 2)
    if not counts:
        return Statistic("Fleiss' kappa (decisions)", None, 0, 0)
    m = max(counts, key=lambda k: (counts[k], k))
    table = [[sum(d == c for d in r.values()) for c in DECISIONS] for r in decisions.values() if len(r) == m]
    value = None
    if len(table) >= 2 and sum(1 for col in zip(*table, strict=True) if sum(col)) >= 2:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = _defined(fleiss_kappa(np.array(table), method="fleiss"))
    return Statistic("Fleiss' kappa (decisions)", value, len(table), m)


def krippendorff_alpha(name: str, ratings: dict[int, dict[int, float]], level: str) -> Statistic:
    """Krippendorff's alpha of ``item → {expert: value}`` (missing ratings allowed) at ``level``."""
    import krippendorff

    items = [i for i, r in ratings.items() if len(r) >= 2]
    experts = sorted({e for i in items for e in ratings[i]})
    if len(items) < 2 or len(experts) < 2:
        return Statistic(name, None, len(items), len(experts))
    data = np.array([[ratings[i].get(e, np.nan) for i in items] for e in experts], dtype=float)
    values = set(data[~np.isnan(data)].tolist())
    value = None
    if len(values) >= 2:
        value = _defined(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
    return Statistic(name, value, len(items), len(experts))


def agreement_stats(engine: Engine, round_no: int) -> AgreementStats:
    with read_session(engine) as s:
        rnd = find_round(s, round_no)
        rid, blind = rnd.id, stored_config(rnd).blind_review
        rows = s.execute(
            select(Review, User.name)
            .join(User, User.id == Review.reviewer_id)
            .join(Badcase, Badcase.id == Review.badcase_id)
            .where(Badcase.round_id == rid, Review.undone_at.is_(None), Review.decision != "skip")
            .order_by(Review.id)
        ).all()
    names: dict[int, str] = {}
    decisions: dict[int, dict[int, str]] = defaultdict(dict)  # variant → expert → decision (the latest)
    scores: dict[int, dict[int, float]] = defaultdict(dict)
    best: dict[int, dict[int, float]] = defaultdict(dict)  # badcase → expert → the variant picked
    seconds: dict[int, list[float]] = defaultdict(list)
    for review, name in rows:
        names[review.reviewer_id] = name
        decisions[review.variant_id][review.reviewer_id] = review.decision
        if review.score is not None:
            scores[review.variant_id][review.reviewer_id] = float(review.score)
        if review.best:
            best[review.badcase_id][review.reviewer_id] = float(review.variant_id)
        # active time (gaps of over a minute left out) where it was measured; older rows have only the raw time
        spent = review.active_seconds if review.active_seconds is not None else review.seconds
        if spent is not None:
            seconds[review.reviewer_id].append(spent)
    pairs = []
    for a, b in itertools.combinations(sorted(names, key=names.__getitem__), 2):
        shared = [v for v, r in decisions.items() if a in r and b in r]
        pairs.append(
            PairKappa(
                names[a],
                names[b],
                cohen([decisions[v][a] for v in shared], [decisions[v][b] for v in shared]),
                len(shared),
            )
        )
    experts = []
    for e in sorted(names, key=names.__getitem__):
        mine = {v: r[e] for v, r in decisions.items() if e in r}
        hits = compared = 0
        for v, d in mine.items():
            others = Counter(x for who, x in decisions[v].items() if who != e)
            top = others.most_common(2)
            if top and (len(top) == 1 or top[0][1] > top[1][1]):
                compared += 1
                hits += d == top[0][0]
        experts.append(
            ExpertFigures(
                names[e],
                len(mine),
                statistics.median(seconds[e]) if seconds[e] else None,
                sum(d == "approve" for d in mine.values()) / len(mine) if mine else None,
                hits / compared if compared else None,
                compared,
            )
        )
    return AgreementStats(
        round_no,
        pairs,
        fleiss(decisions),
        krippendorff_alpha("Krippendorff's alpha (best, nominal)", best, "nominal"),
        krippendorff_alpha("Krippendorff's alpha (scores, ordinal)", scores, "ordinal"),
        experts,
        blind,
    )
