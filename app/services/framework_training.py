"""The paper's own trainers as jobs: LLaMA-Factory SFT of a ``llamafactory`` export, verl GRPO of a ``verl`` export
(README, "Training where the paper trained"; on a cluster, "Running on a cluster").

The job runs the export's own files — ``llamafactory-cli train llamafactory_sft.yaml`` or ``bash verl_grpo.sh`` —
with the model to start from and an output folder of the data folder's as overrides, in its own process group on
the job's node, its output in the job's log. It first checks its inputs: the export's files, the model folder, the
trainer installed on the node (a missing one fails the job naming the command it would have run). When the trainer
succeeds, its output folder is registered as ``sradit model register`` would, with the export as lineage (its
round, format, version and sub-task). verl writes FSDP checkpoints: ``python -m verl.model_merger merge`` turns
the last one into Hugging Face weights (``huggingface/`` beside them), which is what is registered.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from db.engine import read_session
from db.models import DatasetExport
from pipeline.domain.vocabulary import FRAMEWORKS
from pipeline.errors import InputError
from pipeline.export.datasets import verify
from pipeline.jobs.params import require_one_of
from pipeline.jobs.processes import HOST
from pipeline.jobs.runner import JobContext
from training.models import registry


@dataclass(frozen=True)
class FrameworkTrainParams:
    """``sradit train llamafactory|verl --export ID``, and the Export page's "Train with the paper's trainer"."""

    framework: str  #: llamafactory | verl: the export's format
    export_id: int
    model: str  #: the model to start from: a folder, or a registered model's name (its folder)
    name: str  #: the name the trained model is registered under
    gpus: int = 8  #: GPUs of one node the trainer spreads over (verl's N_GPUS; LLaMA-Factory takes what it sees)

    def __post_init__(self) -> None:
        require_one_of("framework", self.framework, FRAMEWORKS)
        if self.gpus < 1:
            raise InputError(f"field 'gpus' is {self.gpus}, and a trainer needs at least 1")
        registry.check_name(self.name)


@dataclass(frozen=True)
class Plan:
    """What the job runs: its command line, environment additions, and where the model lands."""

    framework: str
    argv: list[str]
    env: dict[str, str]
    out: Path
    export: dict[str, Any]

    @property
    def shown(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        return (env + " " if env else "") + shlex.join(self.argv)


def plan(engine: Engine, models_dir: Path, params: FrameworkTrainParams) -> Plan:
    """The command of an export's trainer, with its inputs checked (refused, naming what is missing)."""
    with read_session(engine) as s:
        row = s.get(DatasetExport, params.export_id)
        if row is None:
            raise InputError(f"there is no export {params.export_id} (`sradit export list` lists them)")
        export = {
            "id": row.id,
            "format": row.format,
            "round": row.round_no,
            "version": row.version,
            "path": row.path,
            "task": (row.options or {}).get("task"),
        }
        checksum = row.checksum
    if export["format"] != params.framework:
        raise InputError(
            f"export {export['id']} is a {export['format']} export, not {params.framework}: "
            f"`sradit export --format {params.framework}` makes one"
        )
    folder, out = Path(export["path"]), models_dir / params.name
    verify(folder, checksum)  # a file changed since it was written never trains a model
    base = _model_folder(engine, params.model)
    if export["format"] == "llamafactory":
        config = _needed(folder / "llamafactory_sft.yaml", export)
        argv = ["llamafactory-cli", "train", str(config), f"model_name_or_path={base}", f"output_dir={out}"]
        return Plan("llamafactory", argv, {}, out, export)
    script = _needed(folder / "verl_grpo.sh", export)
    _needed(folder / "reward.py", export)
    argv = ["bash", str(script), f"trainer.default_local_dir={out}"]
    return Plan("verl", argv, {"MODEL_PATH": base, "N_GPUS": str(params.gpus)}, out, export)


def _needed(path: Path, export: dict[str, Any]) -> Path:
    if not path.is_file():
        raise InputError(f"export {export['id']} ({export['format']}, {export['path']}) has no {path.name}")
    return path


def _model_folder(engine: Engine, model: str) -> str:
    if Path(model).is_dir():
        return str(Path(model).resolve())
    row = registry.find(engine, model)
    if row is not None and row.path and Path(row.path).is_dir():
        return row.path
    raise InputError(f"model {model!r} to start from is neither a folder nor a registered model with a folder")


def _installed(framework: str) -> bool:
    if framework == "llamafactory":
        return shutil.which("llamafactory-cli") is not None
    return importlib.util.find_spec("verl") is not None


def framework_train_job(params: FrameworkTrainParams, ctx: JobContext) -> dict[str, Any]:
    """Job handler: run the export's trainer (see the module docstring), then register what it wrote."""
    p = plan(ctx.engine, ctx.settings.workspace / "models", params)
    ctx.log(f"{p.framework} on {HOST}: {p.shown}")
    if registry.find(ctx.engine, params.name) is not None:
        raise InputError(f"model name {params.name!r} is taken")
    if not _installed(p.framework):
        hint = "pip install llamafactory==0.9.5" if p.framework == "llamafactory" else "pip install verl==0.9.1"
        raise InputError(f"{p.framework} is not installed on {HOST} ({hint}); the job would run: {p.shown}")
    p.out.parent.mkdir(parents=True, exist_ok=True)
    # Its own process group (the job's): a cancel ends the trainer's ranks with it. Output streams into the log.
    done = subprocess.run(p.argv, env={**os.environ, **p.env}, stdout=sys.stdout, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{p.framework} exited with code {done.returncode}; its output is in the job's log")
    if not p.out.is_dir() or not any(p.out.iterdir()):
        raise RuntimeError(f"{p.framework} finished but wrote nothing into {p.out}")
    weights = p.out if p.framework == "llamafactory" else _merge_verl(p.out, ctx)
    kind = "sft" if p.framework == "llamafactory" else "grpo"
    task = p.export["task"] if p.export["task"] in ("principal", "other", "multi") else None
    reg = registry.Registration(
        name=params.name,
        kind=kind,
        path=str(weights),
        subtask=task,
        round_no=p.export["round"],
        dataset=f"export {p.export['id']} ({p.export['format']} v{p.export['version']})",
        parent=params.model,
        config={"trainer": p.framework, "command": p.shown, "export": p.export},
        job_id=ctx.job_id,
    )
    registry.register(ctx.engine, reg, ctx.actor)
    ctx.log(f"registered {params.name} ({kind}, round {p.export['round']}) from {weights}")
    return {"model": params.name, "path": str(weights), "lines": [f"model {params.name}", f"folder {weights}"]}


def _merge_verl(out: Path, ctx: JobContext) -> Path:
    """verl's last actor checkpoint as Hugging Face weights (``out/huggingface``), by verl's own merger."""
    steps = sorted(out.glob("global_step_*"), key=lambda d: int(d.name.rsplit("_", 1)[1] or 0))
    if not steps or not (steps[-1] / "actor").is_dir():
        raise RuntimeError(f"verl finished but left no actor checkpoint (global_step_*/actor) in {out}")
    target = out / "huggingface"
    argv = [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp"]
    argv += ["--local_dir", str(steps[-1] / "actor"), "--target_dir", str(target)]
    ctx.log(f"verl: merging {steps[-1].name} into Hugging Face weights: {shlex.join(argv)}")
    if subprocess.run(argv, stdout=sys.stdout, stderr=subprocess.STDOUT).returncode != 0:
        raise RuntimeError(f"verl's model merger failed on {steps[-1] / 'actor'}; its output is in the job's log")
    return target
