"""Configuration of the baseline coder: its hyper-parameters, its errors and the files of a saved model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields

from pipeline.errors import InputError

__all__ = [
    "BaselineConfig",
    "MissingLabelsError",
    "NotFittedError",
    "ModelFormatError",
]

FORMAT_VERSION = 1
_MODEL_FILE = "model.joblib"
_CONFIG_FILE = "config.json"


class MissingLabelsError(InputError):
    """A training record lacks its principal code or its other codes (the record is named)."""


class NotFittedError(RuntimeError):
    """``predict`` or ``save`` was called before ``fit``."""


class ModelFormatError(InputError):
    """A saved model directory is missing, incomplete or written by an incompatible version."""


@dataclass
class BaselineConfig:
    """Hyper-parameters of the baseline coder (defaults chosen by reasoning and inner CV)."""

    analyzer: str = field(
        default="char",
        metadata={"help": "TfidfVectorizer analyzer for the whole-record block: 'char' or 'char_wb'."},
    )
    ngram_min: int = field(default=1, metadata={"help": "Shortest character n-gram of the text block."})
    ngram_max: int = field(default=3, metadata={"help": "Longest character n-gram of the text block."})
    max_features: int | None = field(
        default=60000, metadata={"help": "Vocabulary cap of the whole-record block (None: no cap)."}
    )
    min_df: int = field(default=2, metadata={"help": "Minimum document frequency of a text n-gram."})
    sublinear_tf: bool = field(default=True, metadata={"help": "Use 1 + log(tf) in the TF-IDF blocks."})
    diagnosis_ngram_max: int = field(
        default=4, metadata={"help": "Longest character n-gram of the 入院诊断 (admission diagnosis) block."}
    )
    diagnosis_weight: float = field(
        default=1.0,
        metadata={"help": "Weight of the 入院诊断 TF-IDF block (0 turns it off)."},
    )
    rule_weight: float = field(
        default=0.5,
        metadata={"help": "Weight of the rule-feature block (synonym table, grades, numbers; 0 turns it off)."},
    )
    principal_model: str = field(
        default="ovr",
        metadata={
            "help": "Principal-code model: 'ovr' (one-vs-rest liblinear logistic regressions, "
            "probabilities normalised) or 'multinomial' (one softmax logistic regression, lbfgs; slower)."
        },
    )
    principal_C: float = field(
        default=1.0, metadata={"help": "Inverse regularisation of the principal-code logistic regression."}
    )
    other_C: float = field(
        default=1.0, metadata={"help": "Inverse regularisation of each other-code logistic regression."}
    )
    other_text_weight: float = field(
        default=0.0,
        metadata={
            "help": "Weight of the whole-record TF-IDF block in the other-code models (0 leaves it "
            "out: much faster, the 入院诊断 block and the rule features remain)."
        },
    )
    own_rule_weight: float = field(
        default=8.0,
        metadata={
            "help": "Weight of each other code's own rule features (its synonyms, grades), appended "
            "to that code's model only (0 turns them off)."
        },
    )
    principal_feature_weight: float = field(
        default=0.0,
        metadata={"help": "Weight of the (out-of-fold) principal probabilities fed to the other-code models."},
    )
    min_code_count: int = field(
        default=2, metadata={"help": "Other codes seen fewer times than this in training are never predicted."}
    )
    threshold_strategy: str = field(
        default="expected_f1",
        metadata={
            "help": "How the other-code set is picked: 'expected_f1' (top-k maximising the plug-in "
            "expected F1), 'global' (one probability threshold tuned by inner CV) or 'fixed' "
            "(the 'threshold' field as given)."
        },
    )
    threshold: float = field(
        default=0.4,
        metadata={"help": "Probability threshold for 'fixed' (and the fallback of 'global' before tuning)."},
    )
    threshold_grid: tuple[float, ...] = field(
        default=(0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6),
        metadata={"help": "Candidate thresholds tried by the 'global' strategy."},
    )
    inner_folds: int = field(
        default=5,
        metadata={"help": "Inner CV folds for the out-of-fold principal probabilities and threshold tuning."},
    )
    min_other: int = field(default=1, metadata={"help": "Fewest other codes predicted per record."})
    max_other: int = field(default=8, metadata={"help": "Most other codes predicted per record."})
    seed: int = field(default=0, metadata={"help": "Seed of the inner fold assignment and the solvers."})
    n_threads: int | None = field(
        default=1,
        metadata={
            "help": "BLAS/OpenMP threads while fitting and predicting (None: leave as set); one is "
            "fastest for problems this small."
        },
    )

    predict_workers: int | None = field(
        default=None,
        metadata={
            "help": "Processes that share the prediction of a large batch (1,000 records or more each; "
            "None or 0: one per CPU core, 1: this process only). Results do not depend on it."
        },
    )

    def __post_init__(self) -> None:
        if isinstance(self.threshold_grid, list):
            self.threshold_grid = tuple(self.threshold_grid)
        problems = []
        if self.analyzer not in ("char", "char_wb"):
            problems.append(f"analyzer must be 'char' or 'char_wb', not {self.analyzer!r}")
        if not 1 <= self.ngram_min <= self.ngram_max:
            problems.append("need 1 <= ngram_min <= ngram_max")
        if self.diagnosis_ngram_max < 1:
            problems.append("diagnosis_ngram_max must be at least 1")
        if self.principal_model not in ("ovr", "multinomial"):
            problems.append(f"unknown principal_model {self.principal_model!r}")
        if self.threshold_strategy not in ("expected_f1", "global", "fixed"):
            problems.append(f"unknown threshold_strategy {self.threshold_strategy!r}")
        if self.inner_folds < 2:
            problems.append("inner_folds must be at least 2")
        if self.predict_workers is not None and self.predict_workers < 0:
            problems.append("predict_workers must not be negative (0 or None: one per CPU core)")
        if not 0 <= self.min_other <= self.max_other:
            problems.append("need 0 <= min_other <= max_other")
        for name in (
            "diagnosis_weight",
            "rule_weight",
            "other_text_weight",
            "own_rule_weight",
            "principal_feature_weight",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative")
        for name in ("principal_C", "other_C"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive")
        if problems:
            raise InputError("invalid baseline configuration", problems)

    def to_json(self) -> dict:
        out = asdict(self)
        out["threshold_grid"] = list(self.threshold_grid)
        return out

    @classmethod
    def from_json(cls, data: Mapping) -> BaselineConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
