"""The calibrated trainer's batch surgery and hook (:mod:`training.grpo_refill`).

The pure functions run on hand-made TRL batch dicts. The hook runs on the tiny offline Qwen2 on CPU with
:mod:`tests.training.grpo_rows`' data set and rewards: the FLAT prompts' groups have zero spread, which
the calibration must find and discard (mask, or refill from informative prompts).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Required dependencies: a missing one fails the suite (no skips).
import torch  # noqa: E402
import trl  # noqa: E402,F401
from datasets import Dataset  # noqa: E402

from tests.training.grpo_rows import grpo_file, small_config  # noqa: E402
from training.calibration import RewardStability  # noqa: E402
from training.grpo import build_trainer  # noqa: E402
from training.grpo_refill import mask_rows, replace_rows, rows_of_groups  # noqa: E402


def _batch() -> dict[str, torch.Tensor]:
    """3 groups of 2 completions with known lengths; group 1 is the zero-spread one."""
    lengths = [3, 5, 4, 2, 6, 1]
    mask = torch.zeros(6, 6, dtype=torch.long)
    for i, n in enumerate(lengths):
        mask[i, :n] = 1
    return {
        "prompt_ids": torch.arange(12).view(6, 2),
        "prompt_mask": torch.ones(6, 2, dtype=torch.long),
        "completion_ids": torch.arange(36).view(6, 6),
        "completion_mask": mask,
        "advantages": torch.tensor([0.7, -0.7, 0.0, 0.0, 0.7, -0.7]),
        "num_items_in_batch": mask.sum(),
    }


def test_mask_rows_takes_zero_spread_groups_out_of_the_token_level_normaliser() -> None:
    batch = _batch()
    drop = rows_of_groups([False, True, False], 2)
    assert drop == [False, False, True, True, False, False]
    out = mask_rows(batch, drop)
    assert out["completion_mask"][2:4].sum() == 0
    assert torch.equal(out["completion_mask"][[0, 1, 4, 5]], batch["completion_mask"][[0, 1, 4, 5]])
    assert int(out["num_items_in_batch"]) == 3 + 5 + 6 + 1  # was 21 with the dropped group's 6 tokens
    assert torch.equal(out["advantages"][2:4], torch.zeros(2))

    # TRL's dapo aggregation: sum(per_token_loss × mask) / num_items_in_batch is then the mean over the
    # kept tokens, and the dropped group's tokens get zero weight (and zero gradient).
    per_token_loss = torch.randn(6, 6, requires_grad=True)
    loss = (per_token_loss * out["completion_mask"]).sum() / out["num_items_in_batch"].clamp(min=1.0)
    kept = out["completion_mask"].bool()
    assert loss.item() == pytest.approx(per_token_loss[kept].mean().item(), rel=1e-6)
    loss.backward()
    assert per_token_loss.grad[2:4].abs().sum() == 0
    assert torch.allclose(per_token_loss.grad[kept], torch.full((15,), 1 / 15))

    # processes: the normaliser is summed over all of them (here a fake gather of two equal processes)
    twice = mask_rows(batch, drop, gather=lambda t: torch.stack([t, t]))
    assert int(twice["num_items_in_batch"]) == 30
    with pytest.raises(ValueError):
        mask_rows(batch, [True])


def test_replace_rows_repads_to_the_wider_batch() -> None:
    batch = _batch()
    extra = {
        "prompt_ids": torch.full((2, 3), 7),
        "prompt_mask": torch.ones(2, 3, dtype=torch.long),
        "completion_ids": torch.full((2, 8), 9),
        "completion_mask": torch.ones(2, 8, dtype=torch.long),
        "advantages": torch.tensor([1.0, -1.0]),
        "num_items_in_batch": torch.tensor(16),
    }
    out = replace_rows(batch, extra, dst_rows=[2, 3], src_rows=[0, 1], pad_token_id=-1)
    assert out["prompt_ids"].shape == (6, 3) and out["completion_ids"].shape == (6, 8)
    assert out["prompt_ids"][0].tolist() == [-1, 0, 1]  # left-padded with the pad token
    assert out["prompt_mask"][0].tolist() == [0, 1, 1]
    assert out["completion_ids"][0, 6:].tolist() == [-1, -1]  # right-padded
    assert out["completion_mask"][0].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]
    assert out["prompt_ids"][2].tolist() == [7, 7, 7] and out["completion_mask"][3].sum() == 8
    assert out["advantages"].tolist() == [0.7, -0.7, 1.0, -1.0, 0.7, -0.7] or torch.allclose(
        out["advantages"], torch.tensor([0.7, -0.7, 1.0, -1.0, 0.7, -0.7])
    )
    with pytest.raises(ValueError, match="pixel_values"):
        replace_rows({**batch, "pixel_values": torch.zeros(1)}, extra, [0], [0], 0)


@pytest.fixture(scope="module")
def hook_trainer(tiny: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    folder = tmp_path_factory.mktemp("hook")
    train = grpo_file(folder / "train.jsonl", n_flat=1, n_var=3)
    trainer = build_trainer(small_config(tiny, train, folder / "out", refill=False, metrics_file=None))
    trainer.model.train()
    rows = list(trainer.train_dataset)
    return trainer, rows


def _group_batch(rows: list[dict], g: int) -> list[dict]:
    flat = next(r for r in rows if r["case_id"].startswith("FLAT"))
    var = next(r for r in rows if r["case_id"].startswith("VAR"))
    return [flat] * g + [var] * g


def test_calibration_hook_masks_known_zero_spread_groups(hook_trainer) -> None:  # noqa: ANN001
    trainer, rows = hook_trainer
    g = trainer.num_generations
    batch = _group_batch(rows, g)

    # before the reward is stable nothing is dropped, but the zero-spread group is counted
    trainer.stability = RewardStability(window=5)
    out = trainer._generate_and_score_completions(batch)
    record = trainer.calibration_history[-1]
    assert (record["stable"], record["zero_spread_groups"], record["dropped_groups"]) == (False, 1, 0)
    assert out["completion_mask"][:g].sum() > 0
    assert int(out["num_items_in_batch"]) == int(out["completion_mask"].sum())

    # once stable, the FLAT group's tokens leave the loss and its normaliser
    trainer.stability = RewardStability(window=1)
    n_reward_logs = len(trainer._metrics["train"]["reward"])
    out = trainer._generate_and_score_completions(batch)
    record = trainer.calibration_history[-1]
    assert (record["stable"], record["dropped_groups"], record["masked_groups"]) == (True, 1, 1)
    assert out["completion_mask"][:g].sum() == 0 and out["completion_mask"][g:].sum() > 0
    assert int(out["num_items_in_batch"]) == int(out["completion_mask"][g:].sum()) == record["loss_tokens"]
    assert torch.equal(out["advantages"][:g], torch.zeros(g))
    assert out["advantages"][g:].abs().sum() > 0
    assert trainer._metrics["train"]["calibration/dropped_groups"][-1] == 1.0
    assert len(trainer._metrics["train"]["reward"]) == n_reward_logs + 1


def test_calibration_hook_refills_with_informative_groups(hook_trainer) -> None:  # noqa: ANN001
    trainer, rows = hook_trainer
    g = trainer.num_generations
    batch = _group_batch(rows, g)
    var_rows = [r for r in rows if r["case_id"].startswith("VAR")]
    flat_prompt = trainer.processing_class.apply_chat_template(
        batch[0]["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True
    )["input_ids"]
    saved = trainer.train_dataset
    trainer.train_dataset = Dataset.from_list(var_rows)  # refill draws from informative prompts only
    trainer.refill_enabled = True
    trainer.stability = RewardStability(window=1)
    n_reward_logs = len(trainer._metrics["train"]["reward"])
    try:
        out = trainer._generate_and_score_completions(batch)
    finally:
        trainer.train_dataset, trainer.refill_enabled = saved, False
    record = trainer.calibration_history[-1]
    assert (record["dropped_groups"], record["refilled_groups"], record["masked_groups"]) == (1, 1, 0)
    # the FLAT rows now hold another prompt's completions, in the loss
    for i in range(g):
        ids = out["prompt_ids"][i][out["prompt_mask"][i].bool()].tolist()
        assert ids != flat_prompt
    assert out["completion_mask"][:g].sum() > 0
    assert int(out["num_items_in_batch"]) == int(out["completion_mask"].sum())
    assert out["advantages"][:g].abs().sum() > 0
    # the refill generation's own metrics were taken back out: one reward entry for one step
    assert len(trainer._metrics["train"]["reward"]) == n_reward_logs + 1
    assert trainer._metrics["train"]["calibration/refilled_groups"][-1] == 1.0
