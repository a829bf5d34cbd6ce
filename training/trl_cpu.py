"""TRL on a machine without CUDA: its fused LM head made to score only the labelled positions as it does on a GPU,
and GRPO's start without importing vLLM (:func:`skip_vllm_import_without_cuda`).

TRL 1.16 trains SFT and GRPO through a fused LM head (``trl.trainer.utils.add_fused_lm_head``) that projects
hidden states to log-probabilities in tiles. On CUDA/XPU it scores only the positions whose label is not
``-100``; elsewhere it scores every position and masks afterwards, because on compiled backends (Neuron) a
changing number of positions would recompile the tiles on every batch. Eager CPU PyTorch never recompiles, so
there the choice only costs time: with ~1,000-token prompts and ~18-token completions, the head scored 60
times more positions than the loss uses, and its tiles took 1.8 s of a 2.8 s step of the tiny model
(measured with cProfile on 2 cores; docs/testing.md, "The tiny offline Qwen2").

:func:`score_labelled_positions_on_cpu` makes that one decision — which positions to score — count a CPU as
a device that scores only the labelled ones; which kernel folds the tiles (Triton or torch) stays TRL's own
choice. The loss, its gradients and TRL's metrics are the same sums over the same positions.
tests/training/test_trl_cpu.py checks that the hook still exists, that the loss is unchanged, and that GRPOTrainer
imports without vLLM.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

_PATCHED = "_sradit_scores_labelled_positions_on_cpu"


def score_labelled_positions_on_cpu() -> None:
    """Idempotent: call before building a TRL trainer. Raises RuntimeError naming the missing hook when the
    installed TRL no longer decides compaction through ``trl.trainer.utils._use_triton``."""
    import trl.trainer.utils as trl_utils

    decide: Callable[[torch.device], bool] | None = getattr(trl_utils, "_use_triton", None)
    if decide is None:
        raise RuntimeError(
            "trl.trainer.utils._use_triton is gone: training/trl_cpu.py no longer matches the installed TRL "
            "(its fused LM head decides which positions to score elsewhere now)"
        )
    if getattr(decide, _PATCHED, False):
        return

    def compact(device: torch.device) -> bool:
        return device.type == "cpu" or decide(device)

    setattr(compact, _PATCHED, True)
    trl_utils._use_triton = compact


def skip_vllm_import_without_cuda() -> None:
    """TRL imports vLLM wherever it is installed as soon as GRPOTrainer is imported (``trl.generation``: 5–7 s of
    every GRPO process's start on two cores), though it generates with vLLM only under ``use_vllm``, which needs
    CUDA (:func:`training.grpo.resolve_use_vllm`). Without CUDA, TRL is told before it first imports its generation
    modules that vLLM is absent, which is true of every path it can take here. Our own vLLM engines import vLLM
    themselves and are not affected."""
    import sys

    if "trl.generation" in sys.modules or torch.cuda.is_available():
        return
    import trl.import_utils as trl_imports

    def absent(min_version: str | None = None) -> bool:
        return False

    trl_imports.is_vllm_available = absent
