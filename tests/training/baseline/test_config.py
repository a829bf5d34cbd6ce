"""The baseline coder's configuration: help texts, validation, JSON round trip."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from training.baseline.config import BaselineConfig


def test_every_config_field_has_help() -> None:
    for f in fields(BaselineConfig):
        assert f.metadata.get("help"), f"BaselineConfig.{f.name} has no help text"


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="threshold_strategy"):
        BaselineConfig(threshold_strategy="magic")
    with pytest.raises(ValueError):
        BaselineConfig(ngram_min=4, ngram_max=2)


def test_config_json_round_trip() -> None:
    cfg = BaselineConfig(other_C=3.0, threshold_strategy="global", threshold_grid=(0.3, 0.4))
    assert BaselineConfig.from_json(json.loads(json.dumps(cfg.to_json()))) == cfg
