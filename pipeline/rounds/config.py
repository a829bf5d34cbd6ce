"""A round's configuration: what mines, generates, filters and retrains (the YAML of `sradit round start
--config` and of the Rounds page, stored with the round it ran).

Every key is optional. Older rounds stored ``model`` and ``generator_model`` and ``policy_model: null``;
they read back as ``learner``, ``rewrite_model`` and ``policy_model: none``, so their reports stay readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from db.vocabulary import VARIANT_GENERATORS
from pipeline.domain.model_names import is_file_model
from pipeline.domain.vocabulary import INFERENCE_MODES, LABEL_CHECKS, MINING_MODES, RETRAIN_MODES
from pipeline.errors import InputError
from pipeline.jobs.resources import LANE_DEFAULTS, Resources

AUTO, NONE = "auto", "none"
#: Keys of rounds stored before the configuration had its present names.
_LEGACY = {"model": "learner", "generator_model": "rewrite_model"}
#: The stage each key first affects (its earliest use when a round runs).
_FIRST_STAGE = {
    "mining": "identifying",
    "learner": "identifying",
    "mined_with": "identifying",
    "folds": "identifying",
    "dataset": "identifying",
    "seed": "identifying",
    "threshold": "identifying",
    "inference": "identifying",
    "generator": "generating",
    "rewrite_model": "generating",
    "n": "generating",
    "label_model": "filtering",
    "policy_model": "filtering",
    "label_check": "filtering",
    "grpo_config": "training",
    "retrain": "training",
    "reward_preview": "training",
    # Votes seen before the change were not blind: it may change only until review starts.
    "blind_review": "in_review",
    # Read when the round registers its policy, the last thing it does: it may change until the round is done
    # (the way on for a training stage stopped by a policy that learned nothing).
    "keep_unlearned_policy": "done",
    # Read as each stage's job is sent to a cluster: it may change until the round is done.
    "resources": "done",
}


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class RoundConfig:
    mining: str = field(
        default="kfold",
        metadata=_help(
            "kfold: out-of-fold badcases from the learner trained per fold (paper §2.1) | policy: full inference "
            "on the training set with the current GRPO policy (§2.4, phase 2)."
        ),
    )
    learner: str = field(
        default="baseline", metadata=_help("The learner K-fold trains per fold and the round retrains (models file).")
    )
    mined_with: str | None = field(
        default=None,
        metadata=_help(
            "What mined the round when it was not the learner: a predictions file (file:NAME) or a registered "
            "model, set by `sradit kfold --predictions/--model`. The round still retrains the learner."
        ),
    )
    folds: int = field(default=5, metadata=_help("K of the K-fold mining."))
    generator: str = field(default="rules", metadata=_help("rules | llm: what writes the variants."))
    rewrite_model: str | None = field(default=None, metadata=_help("The LLM (models file) of generator llm."))
    n: int = field(default=20, metadata=_help("Variants per badcase."))
    label_model: str = field(
        default=AUTO,
        metadata=_help(
            "Label-consistency filter. auto: this round's K-fold ensemble for an LLM learner (or, with policy "
            "mining, the SFT coder the previous round trained on this round's dataset); the baseline fitted on "
            "the round's dataset for the baseline learner. Or any model name."
        ),
    )
    label_check: str = field(
        default="predict",
        metadata=_help(
            "predict: the label model must predict exactly the gold codes (the paper; a badcase's variants mostly "
            "fail the coder that got the badcase wrong). gold: the label model's likelihood of the gold answer on a "
            "variant must not fall below its likelihood on the original (the rewrite kept what supported the gold)."
        ),
    )
    policy_model: str = field(
        default=AUTO,
        metadata=_help(
            "Policy-verification filter. auto: the newest GRPO policy (round 1 has none: skipped); none: skip; "
            "or any model name."
        ),
    )
    inference: str = field(default="greedy", metadata=_help("greedy | tcecp, for mining and both filters."))
    grpo_config: str = field(
        default="configs/grpo.yaml",
        metadata=_help("GRPO settings of the retraining (`sradit train grpo` keys); relative to the project."),
    )
    retrain: str = field(
        default="here",
        metadata=_help(
            "here: the round trains its learner (SFT then GRPO, or the baseline refit). external: it waits for an SFT "
            "and a GRPO model trained elsewhere (LLaMA-Factory, verl on a cluster) and registered for it — `sradit "
            "model register NAME --path DIR --kind sft|grpo --round N --dataset <the round's merged set>` — then "
            "finishes with them."
        ),
    )
    reward_preview: int = field(
        default=8,
        metadata=_help(
            "GRPO prompts per sub-task that the reward preview samples from each new SFT model before GRPO starts "
            "(share of groups without a reward spread, mean reward, advice); 0: no preview."
        ),
    )
    keep_unlearned_policy: bool = field(
        default=False,
        metadata=_help(
            "Register a GRPO policy whose weights did not move (no learning signal: every group had identical "
            "rewards) as the round's policy anyway. Off: its training stage stops and says why."
        ),
    )
    resources: dict[str, float | None] | None = field(
        default=None,
        metadata=_help(
            "On a Ray cluster (SRADIT_JOB_BACKEND=ray): what each of the round's stage jobs asks for, e.g. {gpus: "
            "1, cpus: 8, memory_gb: 64}; unset: the models file's `resources` of the model a stage runs, or the "
            "lane's default (1 GPU for training and LLM work). K-fold's fold trainings take the learner's."
        ),
    )
    blind_review: bool = field(
        default=False,
        metadata=_help(
            "Blind review: an expert sees other experts' votes on a variant only once they have voted on it "
            "themselves; the agreement figures say the votes were blind."
        ),
    )
    dataset: str = field(default="train", metadata=_help("Training set of round 1 (later rounds: the last version)."))
    seed: int = field(default=0, metadata=_help("Seed of folds and generation."))
    threshold: float = field(
        default=0.5, metadata=_help("Other-code F1 below which a record is a badcase (as is a principal miss).")
    )

    def __post_init__(self) -> None:
        for key, allowed in (
            ("mining", MINING_MODES),
            ("generator", VARIANT_GENERATORS),
            ("inference", INFERENCE_MODES),
            ("retrain", RETRAIN_MODES),
            ("label_check", LABEL_CHECKS),
        ):
            if getattr(self, key) not in allowed:
                raise InputError(f"round config: {key} {getattr(self, key)!r} is not one of {', '.join(allowed)}")
        if self.folds < 2:
            raise InputError(f"round config: folds {self.folds!r} must be at least 2")
        if self.reward_preview < 0:
            raise InputError(f"round config: reward_preview {self.reward_preview!r} must be 0 (off) or more")
        if self.n < 1:
            raise InputError(f"round config: n {self.n!r} must be at least 1")
        if not 0.0 <= self.threshold <= 1.0:
            raise InputError(f"round config: threshold {self.threshold!r} must be between 0 and 1")
        if self.generator == "llm" and not self.rewrite_model:
            raise InputError("round config: generator llm needs rewrite_model (an LLM of the models file)")

    @property
    def llm_learner(self) -> bool:
        return self.learner != "baseline"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.as_dict(), allow_unicode=True, sort_keys=False)

    def to_shown_yaml(self) -> str:
        """The YAML a page shows: a setting left unset reads as a comment saying what it sets, not a bare ``null``
        (which highlights as an error); it parses to the same mapping as :meth:`to_yaml`."""
        helps = {f.name: f.metadata.get("help", "") for f in fields(self)}
        lines = []
        for line in self.to_yaml().splitlines():
            key, sep, value = line.partition(": ")
            if sep and value == "null" and key in helps:
                line = f"{key}:  # not set: {helps[key]}"
            lines.append(line)
        return "\n".join(lines) + "\n"


def round_config(values: Mapping[str, Any], where: str = "round config") -> RoundConfig:
    """A configuration from a mapping (a YAML file, a form, a stored round): unknown keys and wrong types are
    refused with the key's name."""
    known = {f.name: f for f in fields(RoundConfig)}
    clean: dict[str, Any] = {}
    for key, value in values.items():
        name = _LEGACY.get(key, key)
        if name not in known:
            raise InputError(f"{where}: unknown key {key!r} (known: {', '.join(known)})")
        if name == "policy_model" and value is None:
            value = NONE  # rounds stored before "auto" existed skipped the policy filter without one
        if value is None and known[name].default is not None:
            continue
        clean[name] = _coerce(name, value, known[name].default, where)
    if is_file_model(str(clean.get("learner", ""))):
        # Rounds mined from a predictions file before mined_with existed stored the file as their learner.
        clean["mined_with"], clean["learner"] = clean["learner"], "baseline"
    return RoundConfig(**clean)


def given_keys(values: Mapping[str, Any]) -> set[str]:
    """The configuration keys a mapping sets (under their present names)."""
    return {_LEGACY.get(key, key) for key in values}


def first_stage(key: str, cfg: RoundConfig) -> str:
    """The round stage that a configuration key first affects: changing it is possible until that stage starts."""
    if key == "learner" and (cfg.mined_with or cfg.mining == "policy"):
        return "training"  # this round was not mined by its learner
    return _FIRST_STAGE[key]


def _coerce(name: str, value: Any, default: Any, where: str) -> Any:
    if value is None:
        return None
    if name == "resources":
        return Resources.read(value, where, LANE_DEFAULTS["gpu"]).as_dict()
    if default is None or isinstance(default, str):
        if not isinstance(value, str | int | float):
            raise InputError(f"{where}: {name} must be text, not {value!r}")
        return str(value)
    kind = type(default)
    if kind is bool:
        if not isinstance(value, bool):
            raise InputError(f"{where}: {name} must be true or false, not {value!r}")
        return value
    try:
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        raise InputError(
            f"{where}: {name} must be {'an integer' if kind is int else 'a number'}, not {value!r}"
        ) from None


def read_round_config(path: Path) -> dict[str, Any]:
    """The keys a round configuration file (YAML) sets, checked (unknown keys and wrong types refused)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise InputError(f"{path}: cannot read the round config ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a round config is a mapping of keys to values")
    round_config(data, where=str(path))
    return data


def load_round_config(path: Path, overrides: Mapping[str, Any] | None = None) -> RoundConfig:
    """Read a round configuration file (YAML); ``overrides`` (CLI options given) win over the file."""
    return round_config({**read_round_config(path), **(overrides or {})}, where=str(path))
