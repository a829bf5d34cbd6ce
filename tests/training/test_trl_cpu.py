"""training/trl_cpu.py: on a CPU, TRL's fused LM head scores only the labelled positions, with the same loss and
gradients as TRL's own every-position path. Real TRL fused head on the tiny Qwen2; nothing mocked (the spy
only counts the rows the head is given)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import trl.trainer.utils as trl_utils
from transformers import AutoModelForCausalLM

from training.trl_cpu import score_labelled_positions_on_cpu


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two rows of 40 tokens, the second padded by 8; labels only on each row's last 6 real tokens (a completion)."""
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 2000, (2, 40), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, 32:] = 0
    labels = torch.full_like(ids, -100)
    labels[0, 34:] = ids[0, 34:]
    labels[1, 26:32] = ids[1, 26:32]
    return ids, mask, labels


def _loss_and_grads(model_dir: Path, spy: list[int]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), attn_implementation="sdpa")
    trl_utils.add_fused_lm_head(model)
    ids, mask, labels = _batch()
    out = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True)
    out.loss.backward()
    return out.loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of positions the fused head scores, call by call."""
    rows: list[int] = []
    real = trl_utils._ChunkedLogProbFunction

    class Counting:
        @staticmethod
        def apply(hidden: torch.Tensor, *args: Any) -> Any:
            rows.append(hidden.shape[0])
            return real.apply(hidden, *args)

    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", Counting)
    return rows


def test_the_cpu_head_scores_only_labelled_positions_with_the_same_loss_and_gradients(
    tiny: Path, spy: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trl_utils, "_use_triton", lambda device: False)  # TRL's own CPU choice: every position
    every_loss, every_grads = _loss_and_grads(tiny, spy)
    score_labelled_positions_on_cpu()
    labelled_loss, labelled_grads = _loss_and_grads(tiny, spy)

    assert spy == [2 * 39, 12]  # shifted by one: 39 positions a row, then only the 6 + 6 labelled ones
    torch.testing.assert_close(labelled_loss, every_loss, rtol=1e-5, atol=1e-6)
    assert labelled_grads.keys() == every_grads.keys() and len(labelled_grads) > 0
    for name, grad in every_grads.items():
        torch.testing.assert_close(labelled_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_it_refuses_a_trl_without_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(trl_utils, "_use_triton")
    with pytest.raises(RuntimeError, match="trl.trainer.utils._use_triton is gone"):
        score_labelled_positions_on_cpu()


def test_it_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trl_utils, "_use_triton", lambda device: False)
    score_labelled_positions_on_cpu()
    once = trl_utils._use_triton
    score_labelled_positions_on_cpu()
    assert trl_utils._use_triton is once and once(torch.device("cpu")) is True


def test_grpo_trainer_imports_without_vllm_on_a_machine_without_cuda() -> None:
    """In a process of its own (the worker's may have imported vLLM already): the calibrated trainer's class is built
    and vLLM, which is installed here, was never imported; TRL still has its generation module. Without the hook,
    importing GRPOTrainer imports vLLM (5–7 s of every GRPO process on two cores)."""
    import importlib.util
    import subprocess
    import sys

    assert importlib.util.find_spec("vllm") is not None, "vLLM is part of the test install"
    code = (
        "import sys\n"
        "from training.grpo_refill import make_calibrated_trainer_class\n"
        "make_calibrated_trainer_class()\n"
        "print(sorted(m for m in ('vllm', 'trl.generation') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "['trl.generation']", out.stdout + out.stderr[-2000:]
