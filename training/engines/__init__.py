"""Generation engines: interchangeable implementations of ``pipeline.protocols.TextGenerator``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.domain.vocabulary import ENGINES
from pipeline.errors import SraditError
from pipeline.protocols import TextGenerator

if TYPE_CHECKING:
    from training.models.catalog import ModelSpec


def make_generator(spec: ModelSpec) -> TextGenerator:
    """The engine a model entry names, loaded (imports happen here: vLLM is an optional extra). An entry marked
    ``external = true`` gets the patient-data gate in front of it, so that whoever calls the model — rewrite, the
    CoT teacher, predict, the filters — sends no patient identifier."""
    if not spec.external:
        return _engine(spec)
    from pipeline.privacy.gate import IdentifierGate
    from pipeline.settings import Settings

    if spec.identifiers:
        mode, source = spec.identifiers, f'identifiers = "{spec.identifiers}" in [models.{spec.name}]'
    else:
        mode = Settings.from_env().external_identifiers
        source = f"SRADIT_EXTERNAL_IDENTIFIERS={mode}"
    return IdentifierGate(_engine(spec), spec.name, mode, source, spec.sections)


def _engine(spec: ModelSpec) -> TextGenerator:
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
