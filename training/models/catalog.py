"""The models file (docs/models.md, "The models file"): one TOML file, ``SRADIT_MODELS`` (default ``models.toml``).

    [models.qwen]                # an external model: used as it is
    kind = "llm"
    engine = "vllm"              # transformers | vllm | openai
    path = "/models/qwen2.5-7b-instruct"
    inference = "tcecp"          # greedy | tcecp
    max_tokens = 1500            # predictions and reasoning traces
    rewrite_max_tokens = 6000    # a rewrite writes the whole record again
    [models.qwen.options]        # passed to the engine (vLLM: tensor_parallel_size, max_model_len, …)
    tensor_parallel_size = 2

    [models.served]
    kind = "llm"
    engine = "openai"
    url = "http://127.0.0.1:8000/v1"
    served_name = "qwen"         # the server's model name; defaults to the entry's path or name
    api_key_env = "OPENAI_API_KEY"
    external = true              # runs outside the hospital: the patient-data gate stands in front of it
    identifiers = "redact"       # redact | refuse; without it, SRADIT_EXTERNAL_IDENTIFIERS (default refuse)

    [models.qwen-sft]            # a learner: what K-fold trains per fold and rounds retrain
    kind = "sft"
    base = "/models/Qwen2.5-7B-Instruct"   # a folder or a registered model
    config = "configs/sft.yaml"  # `sradit train sft` settings (max_steps, batch_size, …); relative: beside this file
    subtasks = "pair"            # pair: one model per sub-task (the paper's best) | multi: one model, both answers
    engine = "transformers"      # how the trained fold models predict: transformers | vllm
    vote_share = 0.5             # the ensemble keeps other codes named by at least this share of the folds
    cotd = false                 # SFT targets think with the teacher's stored reasoning (CoT distillation)
    resources = {gpus = 1, cpus = 8, memory_gb = 64}   # on a Ray cluster: what each training or job of it asks for

``baseline`` (the CPU coder) is built in.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.vocabulary import PAIR_SUBTASKS
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.domain.vocabulary import (
    ENGINES,
    IDENTIFIER_MODES,
    INFERENCE_MODES,
    LEARNER_LAYOUTS,
    MODEL_FILE_KINDS,
    WEIGHT_ENGINES,
)
from pipeline.errors import InputError
from pipeline.jobs.resources import LANE_DEFAULTS, Resources

_FIELDS = {
    "kind",
    "engine",
    "path",
    "url",
    "served_name",
    "api_key_env",
    "inference",
    "max_tokens",
    "rewrite_max_tokens",
    "options",
    "external",
    "identifiers",
    "sections",
    "base",
    "config",
    "subtasks",
    "vote_share",
    "cotd",
    "resources",
}


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
    #: a rewrite regenerates the whole record, so its cap is its own (max_tokens caps predictions and traces)
    rewrite_max_tokens: int = 6000
    options: dict[str, Any] = field(default_factory=dict)
    external: bool = False
    #: what the patient-data gate does for an external model: redact | refuse (None: the setting decides)
    identifiers: str | None = None
    #: an external model's allow-list: the record sections it is sent (None: every one); the others never leave
    sections: tuple[str, ...] | None = None
    #: learners (kind "sft") only
    base: str | None = None
    config: str | None = None
    subtasks: str = "pair"
    vote_share: float = 0.5
    cotd: bool = False
    #: on a Ray cluster (SRADIT_JOB_BACKEND=ray): what one job or fold training with this model asks for; None:
    #: the lane's default (pipeline.jobs.backend.LANE_DEFAULTS)
    resources: Resources | None = None

    @property
    def served_name(self) -> str:
        return self.served_name_ or self.path or self.name

    @property
    def is_learner(self) -> bool:
        return self.kind == "sft"

    @property
    def trained_subtasks(self) -> tuple[str, ...]:
        """What a learner trains one model each for: principal and other (``subtasks = "pair"``), or one for both."""
        return PAIR_SUBTASKS if self.subtasks == "pair" else ("multi",)

    def require(self, attr: str) -> str:
        value = getattr(self, attr)
        if not value:
            raise InputError(f"model {self.name!r}: engine {self.engine!r} needs `{attr}` in the models file")
        return str(value)


BASELINE = ModelSpec(name="baseline", kind="baseline")


def _problems(name: str, entry: dict[str, Any]) -> list[str]:
    problems = []
    unknown = set(entry) - _FIELDS
    if unknown:
        problems.append(f"[models.{name}]: unknown fields {sorted(unknown)}")
    kind = entry.get("kind", "llm")
    if kind not in MODEL_FILE_KINDS:
        problems.append(f"[models.{name}] kind {kind!r} is not one of {', '.join(MODEL_FILE_KINDS)}")
    engines = ENGINES if kind == "llm" else WEIGHT_ENGINES
    if kind in ("llm", "sft") and entry.get("engine", "transformers" if kind == "sft" else None) not in engines:
        problems.append(f"[models.{name}] engine {entry.get('engine')!r} is not {', '.join(engines)}")
    if "identifiers" in entry and entry["identifiers"] not in IDENTIFIER_MODES:
        problems.append(f"[models.{name}] identifiers {entry['identifiers']!r} is not redact or refuse")
    if "identifiers" in entry and entry.get("external") is not True:
        problems.append(f"[models.{name}] identifiers applies to external models only: add external = true")
    if "sections" in entry:
        listed = entry["sections"]
        odd = [x for x in listed if x not in TEXT_SECTIONS] if isinstance(listed, list) else [listed]
        if odd:
            problems.append(f"[models.{name}] sections: {odd[0]!r} is not one of {', '.join(TEXT_SECTIONS)}")
        if entry.get("external") is not True:
            problems.append(f"[models.{name}] sections applies to external models only: add external = true")
    if "external" in entry and not isinstance(entry["external"], bool):
        problems.append(f"[models.{name}] external {entry['external']!r} is not true or false")
    if entry.get("inference", "greedy") not in INFERENCE_MODES:
        problems.append(f"[models.{name}] inference {entry.get('inference')!r} is not greedy or tcecp")
    if kind == "sft":
        for needed in ("base", "config"):
            if not entry.get(needed):
                problems.append(f'[models.{name}] a learner (kind = "sft") needs `{needed}`')
        if entry.get("subtasks", "pair") not in LEARNER_LAYOUTS:
            problems.append(f"[models.{name}] subtasks {entry.get('subtasks')!r} is not pair or multi")
        share = entry.get("vote_share", 0.5)
        if not isinstance(share, int | float) or not 0 < share <= 1:
            problems.append(f"[models.{name}] vote_share {share!r} is not a number in (0, 1]")
    return problems


def _beside(models_file: Path, value: str | None, only_if_exists: bool = False) -> str | None:
    """A relative path in the models file means a path beside it (so it holds whoever runs the command);
    a base that is no such path stays as written: the name of a registered model."""
    if not value or Path(value).is_absolute():
        return value
    candidate = models_file.resolve().parent / value
    return str(candidate) if candidate.exists() or not only_if_exists else value


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
        found = _problems(name, entry)
        try:
            resources = Resources.read(entry.get("resources"), f"[models.{name}]", LANE_DEFAULTS["gpu"])
        except InputError as e:
            found.append(str(e))
        problems += found
        if found:
            continue
        kind = entry.get("kind", "llm")
        models[name] = ModelSpec(
            name=name,
            kind=kind,
            engine=entry.get("engine", "transformers" if kind == "sft" else None),
            path=entry.get("path"),
            url=entry.get("url"),
            served_name_=entry.get("served_name"),
            api_key_env=entry.get("api_key_env"),
            inference=entry.get("inference", "greedy"),
            max_tokens=int(entry.get("max_tokens", 1500)),
            rewrite_max_tokens=int(entry.get("rewrite_max_tokens", 6000)),
            options=dict(entry.get("options") or {}),
            external=bool(entry.get("external", False)),
            identifiers=entry.get("identifiers"),
            sections=tuple(entry["sections"]) if "sections" in entry else None,
            base=_beside(path, entry.get("base"), only_if_exists=True),
            config=_beside(path, entry.get("config")),
            subtasks=entry.get("subtasks", "pair"),
            vote_share=float(entry.get("vote_share", 0.5)),
            cotd=bool(entry.get("cotd", False)),
            resources=resources if "resources" in entry else None,
        )
    if problems:
        raise InputError(f"{path}: {len(problems)} problems in the models file", problems)
    return models


def get_model(path: Path, name: str) -> ModelSpec:
    models = load_models(path)
    if name not in models:
        raise InputError(f"no model named {name!r} in {path} (known: {', '.join(sorted(models))})")
    return models[name]
