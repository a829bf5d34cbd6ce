"""The filter job's baseline label model is fitted once, and only when there is a variant to judge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine

import app.services.rewrite as rewrite
from app.services.rewrite import build_filters
from pipeline.augment.filter_chain import filter_round
from pipeline.augment.rewriting import RewriteConfig, generate_round
from pipeline.protocols import CodePrediction, Progress
from pipeline.settings import Settings
from tests.helpers import Counting, mine_synthetic


class CountingLearner:
    """Stands in for the consistency learner: counts its fits; its model predicts no code."""

    fits = 0

    def fit(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> CountingLearner:
        CountingLearner.fits += 1
        return self

    def predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> list[CodePrediction]:
        return [CodePrediction(None, ()) for _ in records]


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> type[CountingLearner]:
    CountingLearner.fits = 0
    monkeypatch.setattr(rewrite, "consistency_learner", lambda _workers: CountingLearner())
    return CountingLearner


def _settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"SRADIT_DATA_DIR": str(tmp_path / "var"), "SRADIT_WORKERS": "1"})


def test_a_round_with_nothing_to_judge_fits_no_label_model(
    engine: Engine, tmp_path: Path, fits: type[CountingLearner]
) -> None:
    mine_synthetic(engine, misses=2)  # badcases, no variant generated
    report = filter_round(engine, 1, build_filters(engine, _settings(tmp_path), 1), "t")
    assert report.variants == 0
    assert fits.fits == 0


def test_the_label_model_is_fitted_once_for_all_batches(
    engine: Engine, tmp_path: Path, fits: type[CountingLearner]
) -> None:
    mine_synthetic(engine, misses=3)
    generate_round(engine, RewriteConfig(round_no=1, n=2), Counting(), "t")
    report = filter_round(engine, 1, build_filters(engine, _settings(tmp_path), 1), "t", badcases_per_batch=1)
    assert report.variants == 6 and report.by_filter["label"] == 0
    assert fits.fits == 1
