"""The demo database with every feature's state: records and accounts (pipeline.demo), then round 1 mined."""

from __future__ import annotations

from sqlalchemy import Engine

from pipeline.demo import DemoSummary, build_demo as build_base
from pipeline.mining import MiningConfig, MiningReport, mine
from training.predictors import BaselineLearner


def build_demo(engine: Engine, *, force: bool, seed: int = 0) -> tuple[DemoSummary, MiningReport]:
    base = build_base(engine, force=force, seed=seed)
    learner = BaselineLearner()
    mined = mine(engine, lambda: learner, MiningConfig(dataset="train", folds=5, seed=seed), actor="demo")
    return base, mined
