"""vLLM's engine core runs in the caller's process without CUDA, in its own with CUDA, and an explicit choice wins.
CUDA's presence is patched (this machine has none); the in-process engine itself runs in
tests/training/engines/test_engines.py::test_vllm_engine_in_process_on_cpu."""

from __future__ import annotations

import os

import pytest
import torch

from training.engines.vllm_engine import MULTIPROCESSING_ENV, engine_core_in_process_without_cuda


@pytest.mark.parametrize(
    ("cuda", "set_before", "after"),
    [
        (False, None, "0"),  # CPU: in this process
        (True, None, None),  # GPU: vLLM's default, a process of its own
        (False, "1", "1"),  # the user's choice stands
        (True, "0", "0"),
    ],
)
def test_the_engine_core_runs_in_process_only_without_cuda(
    monkeypatch: pytest.MonkeyPatch, cuda: bool, set_before: str | None, after: str | None
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    if set_before is None:
        monkeypatch.delenv(MULTIPROCESSING_ENV, raising=False)
    else:
        monkeypatch.setenv(MULTIPROCESSING_ENV, set_before)
    engine_core_in_process_without_cuda()
    assert os.environ.get(MULTIPROCESSING_ENV) == after
