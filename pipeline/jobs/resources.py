"""What a job asks of a cluster (docs/jobs.md, "Backends"): GPUs, CPU cores and memory, as Ray reserves them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from pipeline.errors import InputError


@dataclass(frozen=True)
class Resources:
    """What one job (or one fold's training) asks of a cluster; the local backend runs one job a lane and ignores
    them. Set per model in the models file (``resources = {gpus = 1, cpus = 8, memory_gb = 64}``) and per round
    in the round YAML (``resources:``)."""

    gpus: float = 0.0  #: GPUs reserved (Ray's num_gpus): whole GPUs for training and LLM generation
    cpus: float = 1.0  #: CPU cores reserved (Ray's num_cpus)
    memory_gb: float | None = None  #: memory reserved, in GiB (None: no reservation)

    @classmethod
    def read(cls, data: Any, where: str, default: Resources) -> Resources:
        """``data`` (a mapping of the file or YAML) over ``default``; an unknown key or a value that is not a
        non-negative number is refused, naming ``where``."""
        if data is None:
            return default
        if not isinstance(data, Mapping):
            raise InputError(f"{where}: resources must be a table of gpus, cpus, memory_gb, not {data!r}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InputError(f"{where}: resources has an unknown key {unknown[0]!r} (known: {', '.join(known)})")
        values = asdict(default)
        for key, value in data.items():
            if value is None and key == "memory_gb":
                values[key] = None
                continue
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
            if not ok:
                raise InputError(f"{where}: resources.{key} must be a number of 0 or more, not {value!r}")
            values[key] = float(value)
        return cls(**values)

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


#: What a job asks for when nothing says otherwise: a GPU for the gpu lane's work (training, LLM generation), a
#: core for the rest. A job that only drives others (a round, K-fold fanning out its folds) asks for nothing.
LANE_DEFAULTS = {"gpu": Resources(gpus=1.0, cpus=1.0), "cpu": Resources(gpus=0.0, cpus=1.0)}
DRIVER = Resources(gpus=0.0, cpus=0.0)
