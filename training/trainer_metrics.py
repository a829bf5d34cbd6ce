"""A TrainerCallback that streams the trainer's logs as JSON lines (docs/jobs.md, "Logs and metrics").

Every ``on_log`` dict (loss, reward, learning rate, epoch, dropped groups…) becomes one line of
``metrics_file``, stamped with the step and the time, and is handed to ``on_metric`` (a job's
``JobContext.metric``, a UI callback). ``on_progress(step, max_steps)`` follows the optimizer steps.
Only the main process writes, so ``accelerate launch`` on several GPUs gives one line per log.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

MetricSink = Callable[[dict[str, Any]], None]
ProgressSink = Callable[[int, int], None]


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN / inf
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class MetricsCallback(TrainerCallback):
    def __init__(
        self,
        metrics_file: str | Path | None = None,
        on_metric: MetricSink | None = None,
        on_progress: ProgressSink | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.metrics_file = Path(metrics_file) if metrics_file else None
        self.on_metric, self.on_progress = on_metric, on_progress
        self.extra = dict(extra or {})  #: fields stamped on every line (e.g. {"kind": "grpo"})
        self.lines = 0

    def emit(self, values: dict[str, Any]) -> dict[str, Any]:
        """Write one metrics line and hand it to ``on_metric``; returns the line."""
        line = {"time": time.time(), **self.extra, **{k: _jsonable(v) for k, v in values.items()}}
        if self.metrics_file is not None:
            self.metrics_file.parent.mkdir(parents=True, exist_ok=True)
            with self.metrics_file.open("a", encoding="utf-8") as f:
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
        if self.on_metric is not None:
            self.on_metric(line)
        self.lines += 1
        return line

    def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs: Any):  # noqa: ANN001
        if not state.is_world_process_zero or not logs:
            return
        self.emit({"step": state.global_step, "max_steps": state.max_steps, "epoch": state.epoch, **logs})

    def on_step_end(self, args, state, control, **kwargs: Any):  # noqa: ANN001
        if self.on_progress is not None and state.is_world_process_zero:
            self.on_progress(state.global_step, max(state.max_steps, state.global_step))

    def on_train_end(self, args, state, control, **kwargs: Any):  # noqa: ANN001
        if self.on_progress is not None and state.is_world_process_zero:
            self.on_progress(state.global_step, max(state.max_steps, state.global_step))
