"""Agreement statistics: tables with values worked out by hand, and the demo's two experts through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.demo import build_demo
from db.engine import make_engine
from pipeline.errors import InputError
from pipeline.review.agreement import agreement_stats, cohen, fleiss, krippendorff_alpha
from pipeline.settings import Settings
from tests.helpers import Cli

A, R = "approve", "reject"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # p_o = 3/4, p_e = .5·.25 + .5·.75 = .5 → (0.75 − 0.5) / 0.5
        ([A, A, R, R], [A, R, R, R], 0.5),
        ([A, R, A, R], [A, R, A, R], 1.0),
        ([A, R], [R, A], -1.0),
        ([A, A, A], [A, A, R], 0.0),  # one expert never varies: agreement no better than chance
        ([A], [A], None),  # one item says nothing
        ([A, A], [A, A], None),  # no variation at all
    ],
)
def test_cohens_kappa(a: list[str], b: list[str], expected: float | None) -> None:
    got = cohen(a, b)
    assert got == (None if expected is None else pytest.approx(expected))


def test_fleiss_kappa_by_hand() -> None:
    # 4 variants × 2 experts; category counts [2,0] [0,2] [1,1] [2,0]: P̄ = 0.75, P_e = (5/8)² + (3/8)² = 34/64.
    decisions = {1: {1: A, 2: A}, 2: {1: R, 2: R}, 3: {1: A, 2: R}, 4: {1: A, 2: A}, 5: {1: A}}
    st = fleiss(decisions)
    assert st.value == pytest.approx((0.75 - 34 / 64) / (1 - 34 / 64))
    assert (st.items, st.raters) == (4, 2)  # the variant one expert decided is not an item
    assert fleiss({1: {1: A}}).value is None


def test_krippendorffs_alpha_counts_items_with_two_ratings() -> None:
    perfect = {1: {1: 10.0, 2: 10.0}, 2: {1: 11.0, 2: 11.0}, 3: {1: 12.0}}
    st = krippendorff_alpha("best", perfect, "nominal")
    assert (st.value, st.items, st.raters) == (pytest.approx(1.0), 2, 2)
    ordinal = krippendorff_alpha("scores", {1: {1: 5.0, 2: 4.0}, 2: {1: 1.0, 2: 2.0}, 3: {1: 3.0, 2: 3.0}}, "ordinal")
    assert ordinal.value is not None and 0.5 < ordinal.value < 1.0  # close scores, never equal: high, below 1
    assert krippendorff_alpha("x", {1: {1: 1.0, 2: 1.0}}, "nominal").value is None


def test_the_demos_two_experts_give_figures_with_their_counts(db_url: str, tmp_path: Path) -> None:
    url = db_url
    engine = make_engine(url)
    build_demo(engine, Settings(db_url=url, data_dir=tmp_path / "var"), force=False)
    stats = agreement_stats(engine, 1)
    assert [e.expert for e in stats.experts] == ["expert", "expert2"]
    assert stats.experts[1].decisions >= 10  # the second expert reviewed 5 badcases, two variants each
    assert stats.pairs[0].items > 0 and stats.fleiss.items > 0 and stats.best_alpha.items >= 3
    assert stats.best_alpha.value is not None and stats.score_alpha.value is not None
    lines = stats.lines()
    assert lines[1].startswith("Fleiss' kappa (decisions)") and "experts)" in lines[1]
    with pytest.raises(InputError, match="there is no round 9"):
        agreement_stats(engine, 9)
    out = Cli(url, tmp_path)("review", "agreement", "--round", "1").output
    assert "Krippendorff's alpha (best, nominal)" in out and "Cohen's kappa expert · expert2" in out
