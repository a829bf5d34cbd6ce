"""Learners: models that K-fold trains once per fold and rounds retrain (``kind = "sft"`` in the models file).

For each fold, :class:`SFTLearner` fine-tunes its base model with the project's SFT path (TRL) on the fold's
training records — one model per sub-task (``subtasks = "pair"``, the paper's best) or one model answering
both (``"multi"``) — and returns a predictor built from the trained folders, which K-fold mining uses on the
held-out fold. What it trained is kept in :attr:`SFTLearner.trained`, so the caller can register the fold
models (with their lineage) in the same step that stores the out-of-fold results.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.domain.model_names import fold_model_name
from pipeline.domain.prompts import sft_conversation, task_messages
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY
from pipeline.protocols import Predictor, Progress
from training.models.catalog import ModelSpec
from training.predictors import coder_predictor

#: (病案标识, sub-task) → the teacher's reasoning, for CoT-distilled targets
Traces = Mapping[tuple[str, str], str]


@dataclass
class FoldModel:
    """One trained fold model, as the registry will record it."""

    name: str
    fold: int | None
    subtask: str
    path: str
    config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    #: kept from an earlier run that trained it on the same rows and settings (not trained again)
    resumed: bool = False


#: Written into a trained model's folder: what it was trained on (a digest of its rows and settings) and its metrics.
TRAINED_MARKER = "sradit-trained.json"


def _training_digest(rows: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> str:
    body = json.dumps({"rows": list(rows), "config": dict(config)}, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _trained_before(out: Path, digest: str) -> dict[str, Any] | None:
    """The metrics of a complete model already in ``out`` trained on the same rows and settings, or None."""
    try:
        seen = json.loads((out / TRAINED_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return dict(seen.get("metrics") or {}) if seen.get("digest") == digest else None


def sft_training_rows(
    records: Sequence[Mapping[str, str]], subtask: str, traces: Traces | None = None
) -> list[dict[str, Any]]:
    """trl-sft rows of labelled records for one sub-task; the think block holds a trace only when one exists."""
    rows = []
    for rec in records:
        others = [c for c in (rec.get(OTHER_KEY) or "").split(";") if c]
        think = (traces or {}).get((rec[ID_KEY], subtask))
        messages = sft_conversation(subtask, rec, rec[MAIN_KEY], others, think)
        rows.append({"messages": messages, "task": subtask, "case_id": rec[ID_KEY]})
    return rows


def grpo_training_rows(records: Sequence[Mapping[str, str]], subtask: str) -> list[dict[str, Any]]:
    """trl-grpo rows (prompt, task, gold principal and others) of labelled records for one sub-task."""
    return [
        {
            "prompt": task_messages(subtask, rec),
            "task": subtask,
            "principal": rec[MAIN_KEY],
            "others": [c for c in (rec.get(OTHER_KEY) or "").split(";") if c],
            "case_id": rec[ID_KEY],
        }
        for rec in records
    ]


class SFTLearner:
    """Trains and predicts with a learner's fold models (see the module docstring)."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        base_path: str,
        round_no: int,
        models_dir: Path,
        work_dir: Path,
        traces: Traces | None = None,
        log: Callable[[str], None] = print,
        on_progress: Progress | None = None,
    ) -> None:
        self.spec, self.base_path, self.round_no = spec, base_path, round_no
        self.models_dir, self.work_dir = models_dir, work_dir
        self.traces, self.log, self.on_progress = traces, log, on_progress
        self.trained: list[FoldModel] = []

    def names(self, folds: int) -> list[str]:
        return [
            fold_model_name(self.spec.name, self.round_no, k, t)
            for k in range(folds)
            for t in self.spec.trained_subtasks
        ]

    def for_fold(self, fold: int) -> _FoldLearner:
        return _FoldLearner(self, fold)

    def train(self, fold: int, records: Sequence[Mapping[str, str]]) -> dict[str, str]:
        """Fine-tune one model per sub-task on ``records``; returns {sub-task: folder}."""
        folders: dict[str, str] = {}
        for subtask in self.spec.trained_subtasks:
            name = fold_model_name(self.spec.name, self.round_no, fold, subtask)
            self.log(f"fold {fold}: SFT of {subtask} on {len(records)} records")
            folders[subtask] = self.train_model(name, subtask, records, fold=fold).path
        return folders

    def train_model(
        self,
        name: str,
        subtask: str,
        records: Sequence[Mapping[str, str]],
        fold: int | None = None,
        on_metric: Callable[[dict[str, Any]], None] | None = None,
    ) -> FoldModel:
        """Fine-tune the base on ``records`` for one sub-task into ``<models_dir>/<name>``. It trains in a hidden
        folder beside it, moved into place only when complete: an interrupted run leaves no folder under the
        model's name (a K-fold killed mid-fold once left an empty one). A folder already under that (unregistered)
        name is replaced, unless it holds a complete model trained on the same rows and settings: that one is kept."""
        from training.sft import config_dict, run_sft
        from training.train_entry import load_config

        rows = sft_training_rows(records, subtask, self.traces if self.spec.cotd else None)
        train_file = self.work_dir / f"{name}.jsonl"
        train_file.parent.mkdir(parents=True, exist_ok=True)
        with train_file.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        out = self.models_dir / name
        self.models_dir.mkdir(parents=True, exist_ok=True)
        base_cfg = replace(
            load_config("sft", self.spec.require("config")),
            model_path=self.base_path,
            train_file=str(train_file),
            tasks=None,
            eval_file=None,
            metrics_file=None if on_metric else str(self.work_dir / f"{name}.metrics.jsonl"),
        )
        # Where it is written differs from job to job; what it is trained on and how does not.
        digest = _training_digest(rows, config_dict(replace(base_cfg, output_dir="", train_file="", metrics_file=None)))
        done = _trained_before(out, digest)
        if done is not None:
            # A job killed after this model was moved into place (a K-fold stopped part-way): trained on exactly
            # these rows with exactly this configuration, so running the stage again trains only what is missing.
            self.log(f"SFT {name}: already trained on the same {len(rows)} records and settings ({out}); kept")
            config = config_dict(replace(base_cfg, output_dir=str(out)))
            model = FoldModel(name, fold, subtask, str(out), config, done, resumed=True)
            self.trained.append(model)
            return model
        partial = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=self.models_dir))
        cfg = replace(base_cfg, output_dir=str(partial))
        self.log(f"SFT {name}: {subtask} on {len(rows)} records from {self.base_path} → {out}")
        try:
            result = run_sft(cfg, on_metric=on_metric, on_progress=self.on_progress)
            metrics = {k: result[k] for k in ("train_loss", "global_step", "train_rows") if k in result}
            (partial / TRAINED_MARKER).write_text(json.dumps({"digest": digest, "metrics": metrics}), encoding="utf-8")
            if out.exists():
                shutil.rmtree(out)
            os.replace(partial, out)
        finally:
            shutil.rmtree(partial, ignore_errors=True)  # gone already when it was moved into place
        model = FoldModel(name, fold, subtask, str(out), config_dict(replace(cfg, output_dir=str(out))), metrics)
        self.trained.append(model)
        return model

    def predictor(self, folders: Mapping[str, str]) -> Predictor:
        return coder_predictor(self.spec, folders)


class _FoldLearner:
    """The :class:`pipeline.protocols.Learner` K-fold mining asks for, one per fold."""

    def __init__(self, owner: SFTLearner, fold: int) -> None:
        self.owner, self.fold = owner, fold

    def fit(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> Predictor:
        return self.owner.predictor(self.owner.train(self.fold, records))
