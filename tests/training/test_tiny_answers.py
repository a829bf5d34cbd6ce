"""The tiny model taught to answer (`sradit model tiny --answers`): on held-out demo records it answers in the
think/answer form with label-space names, with several different principals and better than always answering the
most common one; and the paper's own rewards (not a test reward) move its parameters in GRPO. Real TRL SFT and
GRPO on CPU; the model is built once and cached on disk (``tiny_answering_model`` in tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from pipeline.demo.synthetic import generate_records
from pipeline.domain.prompts import task_messages
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY
from pipeline.protocols import Sampling
from training.grpo import GRPORunConfig, run_grpo
from training.rewards import other_reward, principal_reward
from training.tiny_answers import MARKER, TEACHING_SEEDS, measure

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def held_out() -> list[dict[str, str]]:
    """The demo database's labelled records (seed 0): never seen in teaching."""
    assert 0 not in TEACHING_SEEDS
    return [r for r in generate_records(60, 5, seed=0) if MAIN_KEY in r]


@pytest.fixture(scope="module")
def figures(tiny_answering_model: Path, held_out: list[dict[str, str]]) -> dict:
    result = measure(tiny_answering_model, held_out)
    print(json.dumps(result, ensure_ascii=False))  # the measured figures, for the record (pytest -s)
    return result


def test_the_folder_records_its_teaching(tiny_answering_model: Path) -> None:
    summary = json.loads((tiny_answering_model / MARKER).read_text(encoding="utf-8"))
    assert summary["steps"] > 0 and summary["seeds"] == list(TEACHING_SEEDS)
    cfg = json.loads((tiny_answering_model / "config.json").read_text(encoding="utf-8"))
    assert cfg["head_dim"] == 64 and cfg["model_type"] == "qwen2"
    assert [p.name for p in tiny_answering_model.parent.iterdir()] == [tiny_answering_model.name]  # no temp left


def test_held_out_answers_parse_to_label_space_names(figures: dict) -> None:
    assert figures["parsed"] >= 0.9 * figures["records"], figures
    assert figures["others_parsed"] >= 0.9 * figures["records"], figures


def test_it_reads_the_record_not_a_constant(figures: dict) -> None:
    assert figures["distinct_principal"] >= 3, figures
    assert figures["principal_accuracy"] > figures["majority_share"], figures


def test_the_papers_rewards_move_the_parameters_in_grpo(tiny_answering_model: Path, tmp_path: Path) -> None:
    from training.engines.transformers_engine import TransformersGenerator

    records = generate_records(4, 0, seed=7)
    rows = [
        {
            "prompt": task_messages(task, r),
            "task": task,
            "principal": r[MAIN_KEY],
            "others": [c for c in r[OTHER_KEY].split(";") if c],
            "case_id": f"{r[ID_KEY]}-{task}",
        }
        for r in records
        for task in ("principal", "other")
    ]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows), encoding="utf-8")

    # First: at temperature 1.0, groups of 4 answers earn different paper rewards, else GRPO has no advantage.
    gen = TransformersGenerator(str(tiny_answering_model), batch_size=8)
    groups = gen.generate([x["prompt"] for x in rows], Sampling(temperature=1.0, n=4, max_tokens=64, seed=0))
    spreads = []
    for row, group in zip(rows, groups, strict=True):
        if row["task"] == "principal":
            rewards = principal_reward(group, principal=[row["principal"]] * len(group))
        else:
            rewards = other_reward(group, others=[row["others"]] * len(group))
        spreads.append(max(rewards) - min(rewards))
    assert max(spreads) > 0, spreads

    cfg = GRPORunConfig(
        model_path=str(tiny_answering_model),
        train_file=str(train),
        output_dir=str(tmp_path / "out"),
        max_steps=2,
        train_batch_size=4,
        ppo_mini_batch_size=4,
        micro_batch_size=4,
        num_generations=4,
        max_completion_length=64,
        temperature=1.0,
        learning_rate=1e-3,
        weight_decay=0.0,  # else AdamW's decay alone would move every weight, reward or not
        calibration=False,
        extra_reward=None,  # only the paper's rewards: task_reward (principal / other) and the overlong shaping
        use_vllm=False,
        use_cpu=True,
        seed=0,
    )
    result = run_grpo(cfg)
    assert result["global_step"] == 2
    before = load_file(str(tiny_answering_model / "model.safetensors"))
    after = load_file(str(tmp_path / "out" / "model.safetensors"))
    moved = [name for name in before if not torch.equal(before[name], after[name])]
    assert moved, "no parameter moved: the paper's rewards gave no advantage"
    assert result["learned"] is True and result["tensors_changed"] == len(moved)
    assert result["frac_reward_zero_std"] < 1.0
