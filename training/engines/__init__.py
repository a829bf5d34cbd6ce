"""Generation engines: interchangeable implementations of ``pipeline.protocols.TextGenerator``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.errors import SraditError
from pipeline.protocols import TextGenerator

if TYPE_CHECKING:
    from training.models.catalog import ModelSpec

ENGINES = ("transformers", "vllm", "openai")


def make_generator(spec: ModelSpec) -> TextGenerator:
    """The engine a model entry names, loaded (imports happen here: vLLM is an optional extra)."""
    if spec.engine == "transformers":
        from training.engines.transformers_engine import TransformersGenerator

        return TransformersGenerator(spec.require("path"), **spec.options)
    if spec.engine == "vllm":
        from training.engines.vllm_engine import VLLMGenerator

        return VLLMGenerator(spec.require("path"), **spec.options)
    if spec.engine == "openai":
        from training.engines.openai_engine import OpenAIGenerator

        return OpenAIGenerator(spec.require("url"), spec.served_name, api_key_env=spec.api_key_env, **spec.options)
    raise SraditError(f"model {spec.name!r}: engine {spec.engine!r} is not one of {', '.join(ENGINES)}")
