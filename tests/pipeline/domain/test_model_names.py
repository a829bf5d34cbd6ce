"""The model-name grammar: every name the tool makes, and the pair and file names read back."""

from __future__ import annotations

from pathlib import Path

from pipeline.domain.model_names import (
    ensemble_name,
    file_model_name,
    fold_model_name,
    grpo_name,
    is_file_model,
    pair_sibling,
    pair_subtask,
    sft_name,
)


def test_names_a_round_makes() -> None:
    assert fold_model_name("qwen-sft", 2, 3, "other") == "qwen-sft-r2-fold3-other"
    assert ensemble_name("qwen-sft", 2) == "qwen-sft-kfold-r2"
    assert ensemble_name("qwen-sft", "<N>") == "qwen-sft-kfold-r<N>"
    assert sft_name("qwen-sft", 1, "principal") == "qwen-sft-r1-sft-principal"
    assert grpo_name("qwen-sft", 1, "multi") == "qwen-sft-r1-grpo-multi"


def test_a_pair_member_names_its_sibling_both_ways_and_nothing_else_has_one() -> None:
    principal, other = sft_name("a", 1, "principal"), sft_name("a", 1, "other")
    assert (pair_subtask(principal), pair_sibling(principal)) == ("principal", other)
    assert (pair_subtask(other), pair_sibling(other)) == ("other", principal)
    for name in (sft_name("a", 1, "multi"), ensemble_name("a", 1), "baseline", "mother", "principal"):
        assert pair_subtask(name) is None and pair_sibling(name) is None, name


def test_a_predictions_file_stands_for_a_model_by_its_file_name() -> None:
    name = file_model_name(Path("/data/runs/oof.json"))
    assert name == "file:oof.json" and is_file_model(name)
    assert not is_file_model("baseline") and not is_file_model(ensemble_name("file", 1))
