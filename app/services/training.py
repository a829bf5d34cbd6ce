"""Training jobs from the UI: a run configuration written beside the job, the exact command it runs
(`python -m training.train_entry …`, or under `accelerate launch`), and its evaluation set."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import DatasetExport, Record
from pipeline.errors import InputError
from pipeline.export.datasets import verify
from pipeline.jobs.runner import JobContext, job_dir
from pipeline.mining.kfold import labelled_records, record_dict, round_dataset
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
#: The export format each trainer reads.
FORMAT_FOR = {"sft": "trl-sft", "grpo": "trl-grpo"}


@dataclass(frozen=True)
class TrainRequest:
    kind: str  #: sft | grpo
    export_id: int
    model_path: str
    values: dict[str, Any] = field(default_factory=dict)  #: hyper-parameters over the paper's defaults
    eval_dataset: str | None = None  #: labelled dataset scored after training (None: the export's held-out fold)
    eval_limit: int | None = None  #: score only the first N records (the tiny model on CPU is slow)
    accelerate_config: str | None = None  #: configs/accelerate/zero3.yaml or fsdp.yaml for several GPUs
    allow_in_sample: bool = False  #: evaluate on records the model trained on; the score is labelled in-sample
    metric: str = "f1"  #: f1 | recall for the evaluation score


def _export(engine: Engine, export_id: int) -> DatasetExport:
    with read_session(engine) as s:
        e = s.get(DatasetExport, export_id)
        if e is None:
            raise InputError(f"there is no export {export_id}")
        return e


def command(config_path: Path, kind: str, accelerate_config: str | None = None) -> list[str]:
    if accelerate_config:
        return [
            "accelerate",
            "launch",
            "--config_file",
            accelerate_config,
            "-m",
            "training.train_entry",
            kind,
            str(config_path),
        ]
    return [sys.executable, "-m", "training.train_entry", kind, str(config_path)]


def plan(engine: Engine, settings: Settings, req: TrainRequest, folder: Path) -> tuple[dict[str, Any], list[str]]:
    """The run configuration and the command, for a job folder (also used for the preview)."""
    if req.kind not in FORMAT_FOR:
        raise InputError(f"kind {req.kind!r} is not sft or grpo")
    e = _export(engine, req.export_id)
    if e.format != FORMAT_FOR[req.kind]:
        raise InputError(f"{req.kind} trains on a {FORMAT_FOR[req.kind]} export; export {e.id} is {e.format}")
    verify(Path(e.path), e.checksum)  # a file changed since it was written never trains a model
    if not req.model_path or not Path(req.model_path).is_dir():
        raise InputError(f"base model path {req.model_path!r} is not a folder")
    if req.eval_dataset and not req.allow_in_sample:
        _check_held_out(engine, e, req.eval_dataset)
    values = {
        **req.values,
        "eval_metric": req.metric,
        "allow_in_sample": req.allow_in_sample,
        "model_path": req.model_path,
        "train_file": str(Path(e.path) / "train.jsonl"),
        "output_dir": str(folder / "model"),
        "metrics_file": str(folder / "metrics.jsonl"),
    }
    if req.eval_dataset or e.options.get("fold") is not None:
        values["eval_file"] = str(folder / "eval.json")
    return values, command(folder / "config.yaml", req.kind, req.accelerate_config)


def _trained_ids(e: DatasetExport) -> set[str]:
    """The records an export trains on: originals, and the parents of its variants (``<id>#r<N>v<k>``)."""
    path = Path(e.path) / "train.jsonl"
    if not path.is_file():
        raise InputError(f"export {e.id}: {path} is missing")
    with path.open(encoding="utf-8") as f:
        return {str(json.loads(line).get("case_id", "")).split("#")[0] for line in f if line.strip()}


def _check_held_out(engine: Engine, e: DatasetExport, dataset: str) -> None:
    with read_session(engine) as s:
        ids = {r.case_id for r in labelled_records(s, dataset)}
    overlap = sorted(ids & _trained_ids(e))
    if overlap:
        raise InputError(
            f"dataset {dataset!r} shares {len(overlap)} records with export {e.id}'s training data "
            f"({', '.join(overlap[:5])}{' …' if len(overlap) > 5 else ''}): its score would be in-sample. Evaluate on "
            "the export's held-out fold (export with a fold) or a dataset it never saw, or allow in-sample."
        )


def _write_eval(engine: Engine, req: TrainRequest, path: Path) -> int:
    e = _export(engine, req.export_id)
    with read_session(engine) as s:
        if req.eval_dataset:
            recs = labelled_records(s, req.eval_dataset)
        else:  # the export's held-out fold: originals of that fold in the export's own dataset
            fold = e.options.get("fold")
            dataset_id = round_dataset(s, e.round_no).id
            recs = list(
                s.scalars(
                    select(Record)
                    .where(
                        Record.dataset_id == dataset_id,
                        Record.fold == fold,
                        Record.origin == "original",
                        Record.principal_code.is_not(None),
                    )
                    .order_by(Record.id)
                )
            )
        rows = [record_dict(r) for r in recs][: req.eval_limit or None]
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return len(rows)


def preview(engine: Engine, settings: Settings, req: TrainRequest) -> str:
    values, cmd = plan(engine, settings, req, settings.workspace / "jobs" / "<job id>")
    return shlex.join(cmd) + "\n\n# config.yaml\n" + yaml.safe_dump(values, allow_unicode=True, sort_keys=True)


@dataclass(frozen=True)
class TrainParams:
    """The train job's: the request of the Training page."""

    request: TrainRequest


def train_job(params: TrainParams, ctx: JobContext) -> dict[str, Any]:
    """Write the configuration, run the command in this job's process group, follow its metrics."""
    req = params.request
    folder = job_dir(ctx.settings, ctx.job_id)
    folder.mkdir(parents=True, exist_ok=True)
    values, cmd = plan(ctx.engine, ctx.settings, req, folder)
    if "eval_file" in values:
        print(f"evaluation set: {_write_eval(ctx.engine, req, Path(values['eval_file']))} records", flush=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(values, allow_unicode=True, sort_keys=True), encoding="utf-8")
    print("$ " + shlex.join(cmd), flush=True)
    metrics = Path(values["metrics_file"])
    result: dict[str, Any] = {}
    checked = 0.0
    # Same process group as this worker: cancelling the job stops the training too.
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:  # the job's log is this process's stdout
            print(line, end="", flush=True)
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
            if time.monotonic() - checked > 1.0:
                checked = time.monotonic()
                _progress_from(metrics, ctx)
    if proc.returncode != 0:
        raise RuntimeError(f"training exited with {proc.returncode}; see the log")
    ctx.progress(1, 1)
    return {"kind": req.kind, "export_id": req.export_id, **result}


def _progress_from(metrics: Path, ctx: JobContext) -> None:
    if not metrics.is_file():
        return
    lines = metrics.read_text(encoding="utf-8").splitlines()
    for line in reversed(lines):
        try:
            last = json.loads(line)
        except json.JSONDecodeError:
            continue
        if last.get("max_steps"):
            ctx.progress(int(last.get("step", 0)), int(last["max_steps"]))
        return


@dataclass(frozen=True)
class TinyParams:
    """The tiny job's: where the tiny offline Qwen2 goes, and whether it is taught to answer."""

    out: str
    answers: bool = False
    #: the folder ``out`` must stay inside when the job writes (a page's typed folder); None: anywhere
    confined_to: str | None = None

    def __post_init__(self) -> None:
        if not self.out:
            raise InputError("the tiny model needs a folder to be written to")

    def checked_out(self) -> Path:
        """``out`` resolved now, at use, and still inside ``confined_to`` (a symbolic link put in its place after the
        page checked it must not take the write out of the data folder)."""
        out = Path(self.out).resolve()
        if self.confined_to is not None and not out.is_relative_to(Path(self.confined_to)):
            raise InputError(f"{self.out} now leads to {out}, outside {self.confined_to}: nothing was built")
        return out


def tiny_job(params: TinyParams, ctx: JobContext) -> dict[str, Any]:
    """Job handler: build the tiny offline Qwen2 and, with ``answers``, teach it to answer (Models page)."""
    if params.answers:
        from training.tiny_answers import build_answering_model

        summary = build_answering_model(params.checked_out(), log=ctx.log)
        lines = [f"tiny model taught to answer at {summary['path']}", _register_tiny(Path(summary["path"]), ctx)]
        return {**summary, "lines": lines}
    from training.tiny_model import build_tiny_model

    out = build_tiny_model(params.checked_out())
    return {"path": str(out), "lines": [f"tiny model at {out}"]}


def _register_tiny(folder: Path, ctx: JobContext) -> str:
    """The answering model joins the registry under its folder's name (it is SFT-trained; it predicts on the
    Models page). Where that name is registered already (a rebuild) nothing is registered again: the row keeps
    the first build's weights hash. The random-weight model is not registered: it
    answers nothing a parser reads, it is a base to train from."""
    from app.services.models import register_external
    from training.models.registry import find

    name = folder.name
    if find(ctx.engine, name) is not None:
        return f"not registered: a model named {name!r} is registered already (`sradit model show {name}`)"
    try:
        register_external(
            ctx.engine, ctx.settings, name, folder, "sft", None, None, None, None, "transformers", ctx.actor
        )
    except InputError as e:
        return f"not registered: {e}"
    return f"registered as {name}: it predicts from the Models page"


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def step_line(points: list[dict[str, Any]], started: float | None, now: float) -> str | None:
    """ "step 12 of 40 · 3.1 s a step · about 1 min 27 s left" from a training job's metrics lines (each stamped with
    its ``time``, ``step`` and ``max_steps`` by training.trainer_metrics); None before the first step is logged.
    Seconds a step come from the logged steps' own times (model loading left out); with one logged step, from the
    job's start. A round's training job trains one model after another: the line is the model in training."""
    steps = [p for p in points if isinstance(p.get("step"), int) and isinstance(p.get("time"), int | float)]
    if not steps:
        return None
    last = steps[-1]
    steps = [p for p in steps if p.get("model") == last.get("model")]
    first = steps[0]
    step, total = last["step"], last.get("max_steps")
    if last["step"] > first["step"]:
        per_step = (last["time"] - first["time"]) / (last["step"] - first["step"])
    elif started is not None and step > 0:
        per_step = (last["time"] - started) / step
    else:
        per_step = None
    parts = [f"step {step}" + (f" of {total}" if isinstance(total, int) and total > 0 else "")]
    if last.get("model"):
        parts[0] = f"{last['model']}: {parts[0]}"
    if per_step is not None:
        parts.append(f"{per_step:.1f} s a step")
        if isinstance(total, int) and total > step:
            since_last = max(0.0, now - last["time"])
            parts.append(f"about {_duration((total - step) * per_step - since_last)} left")
    return " · ".join(parts)
