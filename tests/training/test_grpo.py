"""GRPO with TRL on the tiny offline Qwen2 on CPU, with the paper's rewards and difficulty calibration.

The tiny model writes random text, so the paper's rewards are 0 for every completion. An extra reward
that varies on random text (:func:`tests.training.grpo_rows.varied_reward`) gives the groups a spread — except
for the prompts whose ``case_id`` starts with FLAT, where it is constant: those groups have zero spread, which is what
the calibration must find and discard.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Required dependencies: a missing one fails the suite (no skips).
import torch  # noqa: E402
import transformers  # noqa: E402
import trl  # noqa: E402,F401
from safetensors.torch import load_file  # noqa: E402

from pipeline.errors import InputError  # noqa: E402
from tests.training.grpo_rows import REWARDED, grpo_file, small_config  # noqa: E402
from training.grpo import (  # noqa: E402
    GRPORunConfig,
    build_trainer,
    grpo_rows,
    learning_evidence,
    reward_functions,
    run_grpo,
)
from training.rewards import hierarchical_task_reward, task_reward  # noqa: E402
from training.train_entry import ConfigError, load_config  # noqa: E402


def test_defaults_are_the_papers_table_2() -> None:
    cfg = GRPORunConfig()
    assert (cfg.train_batch_size, cfg.ppo_mini_batch_size, cfg.micro_batch_size) == (64, 16, 2)
    assert (cfg.learning_rate, cfg.num_iterations, cfg.num_generations) == (5e-7, 1, 6)
    assert (cfg.max_prompt_length, cfg.max_completion_length, cfg.loss_type) == (6350, 1500, "dapo")
    assert (cfg.l_max, cfg.l_cache, cfg.calibration_window, cfg.calibration_tolerance) == (7000, 6500, 5, 0.02)
    # 64 prompts × 6 = 384 completions per rollout, 16 × 6 = 96 per optimizer step, 2 per pass
    assert cfg.batch_plan(8) == {
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": 6,
        "steps_per_generation": 24,
    }
    assert cfg.batch_plan(1) == {
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": 48,
        "steps_per_generation": 192,
    }
    with pytest.raises(ValueError, match="multiple"):
        GRPORunConfig(train_batch_size=20).batch_plan(1)
    from trl import GRPOConfig

    assert GRPOConfig.__dataclass_fields__["loss_type"].default == "dapo"  # TRL's token-level loss


def test_every_config_field_has_help() -> None:
    from dataclasses import fields

    from training.sft import SFTRunConfig

    for cls in (GRPORunConfig, SFTRunConfig):
        missing = [f.name for f in fields(cls) if not f.metadata.get("help")]
        assert missing == [], f"{cls.__name__}: fields without help: {missing}"


def test_grpo_trains_with_calibration_and_writes_metrics(tiny: Path, tmp_path: Path) -> None:
    train = grpo_file(tmp_path / "train.jsonl", n_flat=2, n_var=4)
    out = tmp_path / "out"
    seen: list[dict] = []
    REWARDED.clear()
    result = run_grpo(small_config(tiny, train, out), on_metric=seen.append)
    assert result["global_step"] == 3 and result["train_rows"] == 6
    assert result["gradient_accumulation_steps"] == 2 and result["steps_per_generation"] == 2
    assert result["use_vllm"] is False and result["calibration_stable"] is True
    # Counted from what the reward saw, not from the calibration's own counters: every FLAT group rewarded has
    # zero spread and is dropped (stable from the first step with a window of 1); a reward call with fewer
    # groups than a batch (2 prompts) is a refill; a dropped group without a refill is masked.
    groups = [len(call) // 2 for call in REWARDED]  # num_generations = 2
    flat = sum(cid.startswith("FLAT") for call in REWARDED for cid in call) // 2
    refills = sum(n for n in groups if n < 2)
    assert flat >= 2 and result["dropped_groups"] == flat  # both FLAT prompts were drawn, and discarded
    assert result["refilled_groups"] == refills and result["masked_groups"] == flat - refills

    before = load_file(str(tiny / "model.safetensors"))
    after = load_file(str(out / "model.safetensors"))
    unchanged = [name for name in before if torch.equal(before[name], after[name])]
    assert unchanged == [], f"parameters not updated: {unchanged}"
    assert result["learned"] is True and result["tensors_changed"] == result["tensors_total"] == len(before)
    transformers.AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)

    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    steps = [x for x in lines if "reward" in x]
    assert [x["step"] for x in steps] == [1, 2, 3]
    for x in steps:
        assert x["kind"] == "grpo"
        for key in (
            "loss",
            "reward",
            "rewards/task_reward/mean",
            "rewards/overlong_penalty/mean",
            "rewards/varied_reward/mean",
            "calibration/dropped_groups",
            "calibration/zero_spread_groups",
            "calibration/refilled_groups",
            "calibration/masked_groups",
            "calibration/stable",
        ):
            assert key in x, key
        assert x["rewards/task_reward/mean"] == 0.0  # random text earns nothing from the paper's rewards
    assert sum(x["calibration/dropped_groups"] for x in steps) == result["dropped_groups"]
    assert seen == lines


def test_a_run_without_reward_spread_is_told_apart(tiny: Path, tmp_path: Path) -> None:
    """The paper's rewards alone give random text 0 in every group: no advantage, no gradient. Weight decay still
    moves every weight, so the tensors alone would call it trained; TRL's signal says it is not."""
    train = grpo_file(tmp_path / "train.jsonl", n_flat=0, n_var=4)
    out = tmp_path / "out"
    result = run_grpo(small_config(tiny, train, out, extra_reward=None, calibration=False, max_steps=2))
    assert result["frac_reward_zero_std"] == 1.0 and result["max_grad_norm"] == 0.0
    assert result["learned"] is False
    assert result["no_learning"].startswith("no learning signal: every group had identical rewards")


def test_weights_equal_to_the_parent_are_not_learning(tiny: Path, tmp_path: Path) -> None:
    """Fed an unchanged copy of its parent (and a log that shows a spread), the evidence says: not learned."""
    copy = tmp_path / "copy"
    shutil.copytree(tiny, copy)
    (copy / "training_args.bin").write_bytes(b"a new run")  # what once made two checksums differ
    log = [{"frac_reward_zero_std": 0.5, "grad_norm": 0.3}]
    same = learning_evidence(tiny, copy, log)
    assert same["learned"] is False and same["tensors_changed"] == 0 and same["tensors_total"] > 0
    assert same["no_learning"].startswith("no learning signal: its updates left every weight as it was")
    assert learning_evidence(tiny, copy, [])["learned"] is False


def test_rows_and_long_prompts(tiny: Path, tmp_path: Path) -> None:
    train = grpo_file(tmp_path / "train.jsonl", n_flat=0, n_var=4)
    rows = grpo_rows([json.loads(x) for x in train.read_text().splitlines()])
    assert set(rows[0]) == {"prompt", "task", "principal", "others", "case_id"}
    assert len(grpo_rows([json.loads(x) for x in train.read_text().splitlines()], ["other"])) == 2
    tok = transformers.AutoTokenizer.from_pretrained(str(tiny), local_files_only=True)
    lengths = sorted(
        len(
            tok.apply_chat_template(r["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True)[
                "input_ids"
            ]
        )
        for r in rows
    )
    limit = lengths[1]
    fit = sum(n <= limit for n in lengths)
    assert fit < len(lengths)
    trainer = build_trainer(small_config(tiny, train, tmp_path / "o", max_prompt_length=limit))
    assert trainer.sradit_info["train_rows"] == fit and trainer.sradit_info["dropped_long_prompts"] == 4 - fit
    with pytest.raises(ValueError, match="no usable rows"):
        build_trainer(small_config(tiny, train, tmp_path / "o", max_prompt_length=10))
    with pytest.raises(ValueError, match="num_generations"):
        build_trainer(small_config(tiny, train, tmp_path / "o", num_generations=1))
    with pytest.raises(ValueError, match="extra_reward"):
        build_trainer(small_config(tiny, train, tmp_path / "o", extra_reward="no.such.module:f"))


def test_grpo_config_file(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    paper = load_config("grpo", root / "configs" / "grpo.yaml")
    assert (paper.learning_rate, paper.num_generations, paper.max_completion_length) == (5e-7, 6, 1500)
    assert (paper.l_max, paper.l_cache, paper.loss_type) == (7000, 6500, "dapo")
    cfg = load_config("grpo", root / "configs" / "grpo.yaml", ["reward_weights=[1, 0.5, 2]", "use_vllm=false"])
    assert cfg.reward_weights == [1.0, 0.5, 2.0] and cfg.use_vllm is False
    with pytest.raises(ConfigError, match="'group_size'"):
        load_config("grpo", root / "configs" / "grpo.yaml", ["group_size=6"])
    assert reward_functions(paper)[0] is task_reward  # the paper's outcome reward unless a run asks otherwise
    partial = load_config("grpo", root / "configs" / "grpo.yaml", ["reward=hierarchical"])
    assert reward_functions(partial)[0] is hierarchical_task_reward
    grpo_file(tmp_path / "train.jsonl", 1, 1)
    wrong = small_config(tmp_path, tmp_path / "train.jsonl", tmp_path / "out", reward="partial")
    with pytest.raises(InputError, match="reward 'partial' is not one of paper, hierarchical"):
        wrong.validate()
    for name in ("zero3.yaml", "fsdp.yaml"):
        import yaml

        acc = yaml.safe_load((root / "configs" / "accelerate" / name).read_text())
        assert acc["distributed_type"] in ("DEEPSPEED", "FSDP") and acc["mixed_precision"] == "bf16"
