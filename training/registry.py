"""Named models (DESIGN.md): one TOML file, ``SRADIT_MODELS`` (default ``models.toml``).

    [models.qwen-sft]
    kind = "llm"                 # baseline | llm
    engine = "vllm"              # transformers | vllm | openai
    path = "/models/qwen2.5-7b-sft"
    inference = "tcecp"          # greedy | tcecp
    max_tokens = 1500
    [models.qwen-sft.options]    # passed to the engine (vLLM: tensor_parallel_size, max_model_len, …)
    tensor_parallel_size = 2

    [models.served]
    kind = "llm"
    engine = "openai"
    url = "http://127.0.0.1:8000/v1"
    served_name = "qwen"         # the server's model name; defaults to the entry's path or name
    api_key_env = "OPENAI_API_KEY"

``baseline`` (the CPU coder) is built in.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import InputError

KINDS = ("baseline", "llm")
INFERENCE = ("greedy", "tcecp")
_FIELDS = {"kind", "engine", "path", "url", "served_name", "api_key_env", "inference", "max_tokens", "options"}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str = "baseline"
    engine: str | None = None
    path: str | None = None
    url: str | None = None
    served_name_: str | None = None
    api_key_env: str | None = None
    inference: str = "greedy"
    max_tokens: int = 1500
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def served_name(self) -> str:
        return self.served_name_ or self.path or self.name

    def require(self, attr: str) -> str:
        value = getattr(self, attr)
        if not value:
            raise InputError(f"model {self.name!r}: engine {self.engine!r} needs `{attr}` in the models file")
        return str(value)


BASELINE = ModelSpec(name="baseline", kind="baseline")


def load_models(path: Path) -> dict[str, ModelSpec]:
    """Every model of the file (the file may be absent), plus the built-in baseline."""
    models = {"baseline": BASELINE}
    if not path.is_file():
        return models
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a valid TOML file: {e}") from None
    problems: list[str] = []
    for name, entry in (data.get("models") or {}).items():
        if not isinstance(entry, dict):
            problems.append(f"[models.{name}] must be a table")
            continue
        unknown = set(entry) - _FIELDS
        if unknown:
            problems.append(f"[models.{name}]: unknown fields {sorted(unknown)}")
        kind = entry.get("kind", "llm")
        if kind not in KINDS:
            problems.append(f"[models.{name}] kind {kind!r} is not one of {', '.join(KINDS)}")
        if kind == "llm" and entry.get("engine") not in ("transformers", "vllm", "openai"):
            problems.append(f"[models.{name}] engine {entry.get('engine')!r} is not transformers, vllm or openai")
        if entry.get("inference", "greedy") not in INFERENCE:
            problems.append(f"[models.{name}] inference {entry.get('inference')!r} is not greedy or tcecp")
        if problems:
            continue
        models[name] = ModelSpec(
            name=name,
            kind=kind,
            engine=entry.get("engine"),
            path=entry.get("path"),
            url=entry.get("url"),
            served_name_=entry.get("served_name"),
            api_key_env=entry.get("api_key_env"),
            inference=entry.get("inference", "greedy"),
            max_tokens=int(entry.get("max_tokens", 1500)),
            options=dict(entry.get("options") or {}),
        )
    if problems:
        raise InputError(f"{path}: {len(problems)} problems in the models file", problems)
    return models


def get_model(path: Path, name: str) -> ModelSpec:
    models = load_models(path)
    if name not in models:
        raise InputError(f"no model named {name!r} in {path} (known: {', '.join(sorted(models))})")
    return models[name]
