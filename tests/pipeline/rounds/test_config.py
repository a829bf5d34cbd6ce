"""The round configuration: defaults, legacy keys of stored rounds, and refusals that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.errors import InputError
from pipeline.rounds.config import RoundConfig, load_round_config, round_config


def test_every_key_is_optional_and_the_defaults_are_the_issues() -> None:
    cfg = round_config({})
    assert (cfg.mining, cfg.learner, cfg.folds, cfg.generator, cfg.n) == ("kfold", "baseline", 5, "rules", 20)
    assert (cfg.label_model, cfg.policy_model, cfg.inference) == ("auto", "auto", "greedy")
    assert (cfg.dataset, cfg.seed, cfg.threshold) == ("train", 0, 0.5)
    assert round_config(cfg.as_dict()) == cfg


def test_rounds_stored_before_the_config_had_its_names_read_back() -> None:
    old = {"dataset": "train", "model": "baseline", "n": 8, "generator": "rules", "generator_model": None}
    cfg = round_config({**old, "policy_model": None, "folds": 5, "seed": 0, "threshold": 0.8})
    assert (cfg.learner, cfg.rewrite_model, cfg.policy_model, cfg.n) == ("baseline", None, "none", 8)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"minning": "kfold"}, "unknown key 'minning'"),
        ({"mining": "oof"}, "mining 'oof' is not one of kfold, policy"),
        ({"inference": "beam"}, "inference 'beam' is not one of greedy, tcecp"),
        ({"folds": 1}, "folds 1 must be at least 2"),
        ({"folds": "five"}, "folds must be an integer, not 'five'"),
        ({"folds": 2.5}, "folds must be an integer, not 2.5"),
        ({"n": 0}, "n 0 must be at least 1"),
        ({"threshold": 1.5}, "threshold 1.5 must be between 0 and 1"),
        ({"generator": "llm"}, "generator llm needs rewrite_model"),
        ({"learner": ["a"]}, "learner must be text"),
    ],
)
def test_bad_values_are_refused_with_their_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        round_config(values)


def test_a_yaml_file_with_cli_overrides(tmp_path: Path) -> None:
    path = tmp_path / "round.yaml"
    path.write_text("mining: policy\nlearner: qwen-sft\nn: 30\n", encoding="utf-8")
    cfg = load_round_config(path, {"n": 5})
    assert (cfg.mining, cfg.learner, cfg.n) == ("policy", "qwen-sft", 5)
    assert RoundConfig.__dataclass_fields__["mining"].metadata["help"]
    path.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(InputError, match="a round config is a mapping"):
        load_round_config(path)
    with pytest.raises(InputError, match="cannot read the round config"):
        load_round_config(tmp_path / "missing.yaml")


def test_a_page_shows_unset_settings_as_what_they_set_not_null() -> None:
    """The Rounds page showed `rewrite_model: null` (highlighted as an error); the shown YAML reads the same."""
    cfg = RoundConfig()
    shown = cfg.to_shown_yaml()
    assert "null" not in shown
    assert "rewrite_model:  # not set: The LLM (models file) of generator llm." in shown.splitlines()
    assert yaml.safe_load(shown) == yaml.safe_load(cfg.to_yaml())
