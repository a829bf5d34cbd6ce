"""The table of jobs: each kind of job by a stable name, with its handler and its parameters' class.

A job's row stores ``{"job": NAME, "params": {...}}``; the worker looks the name up in the table, reads the
params back into their class (:mod:`pipeline.jobs.params`) and calls the handler, ``handler(params, ctx)``. The
table names handlers and classes as ``"module:attribute"`` strings, imported only when a job of that kind is
submitted or runs: this package stays free of the app and of training, and a page that submits one job imports
one handler's module. The app declares the one table (``Settings.job_table`` says where); a handler may move to
another module, its name stays, and rows queued before the move still run.

Rows queued before jobs had names stored ``{"handler": "module:function", "params": {..., "actor": …}}``: the
table's ``old_handlers`` map those strings to names, and their params (less the actor, which the row's
``created_by`` holds too) are read like any other.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import SraditError
from pipeline.jobs.params import ParamsError, from_json, to_json

#: ``handler(params, ctx)``: params is the job's dataclass, ctx a :class:`pipeline.jobs.runner.JobContext`;
#: returns a JSON-able result.
Handler = Callable[[Any, Any], dict[str, Any]]


def load(ref: str, what: str) -> Any:
    """The attribute a ``"module:attribute"`` string names."""
    module, _, name = ref.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as e:
        raise SraditError(f"{what} {ref!r} cannot be loaded: {e}") from None


def path_of(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


@dataclass(frozen=True)
class JobType:
    """One kind of job (see the module's docstring)."""

    name: str  #: stored in each job's row: never renamed once jobs of it may be queued
    handler: str  #: ``"module:function"`` taking ``(params, ctx)``
    params: str  #: ``"module:Class"``, a dataclass, named by the module that defines it
    gpu: bool = False  #: always in the gpu lane (training, a teacher LLM); otherwise the models it names decide

    def load_handler(self) -> Handler:
        fn = load(self.handler, f"job {self.name!r}: handler")
        if not callable(fn):
            raise SraditError(f"job {self.name!r}: handler {self.handler!r} is not a function")
        return fn  # type: ignore[no-any-return]

    def params_class(self) -> type:
        cls = load(self.params, f"job {self.name!r}: params class")
        if not isinstance(cls, type) or path_of(cls) != self.params:
            # Submitting finds a job by its params' class, so the table must name the class where it is defined.
            raise SraditError(f"job {self.name!r}: params {self.params!r} is not a class defined there")
        return cls

    def read(self, data: Any) -> Any:
        return from_json(self.params_class(), data, self.name)


@dataclass(frozen=True)
class StoredJob:
    """A job's row read back: its kind and its parameters, typed."""

    type: JobType
    params: Any


@dataclass(frozen=True)
class JobTable:
    types: tuple[JobType, ...]
    #: ``"module:function"`` of rows stored before jobs had names → the name of the job they ran
    old_handlers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [t.name for t in self.types]
        classes = [t.params for t in self.types]
        for label, values in (("job name", names), ("params class", classes)):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise SraditError(f"the job table has the {label} {twice[0]!r} twice")
        strays = sorted(set(self.old_handlers.values()) - set(names))
        if strays:
            raise SraditError(f"the job table's old handlers name the job {strays[0]!r}, which it does not have")

    def __iter__(self) -> Iterator[JobType]:
        return iter(self.types)

    def __getitem__(self, name: str) -> JobType:
        for t in self.types:
            if t.name == name:
                return t
        raise SraditError(f"there is no job {name!r} (known: {', '.join(t.name for t in self.types)})")

    def of(self, params: Any) -> JobType:
        """The job whose parameters ``params`` are."""
        path = path_of(type(params))
        for t in self.types:
            if t.params == path:
                return t
        raise SraditError(f"{path} is the parameters of no job in the job table")

    def encode(self, params: Any) -> tuple[StoredJob, dict[str, Any]]:
        """The job of ``params`` as a worker will read it back, and the config its row stores: reading back now
        checks every field's type before any row is written."""
        job = self.of(params)
        data = to_json(params)
        return StoredJob(job, job.read(data)), {"job": job.name, "params": data}

    def decode(self, config: Mapping[str, Any]) -> StoredJob:
        """A row's config read back: named jobs, and rows stored with a handler string before names existed."""
        if "job" in config:
            job = self[str(config["job"])]
            return StoredJob(job, job.read(config.get("params", {})))
        handler = config.get("handler")
        if handler is None:
            raise ParamsError(f"the job's row names no job: {dict(config)!r}")
        if handler not in self.old_handlers:
            raise ParamsError(f"the job's handler {handler!r} (stored before jobs had names) is no job of the table")
        job = self[self.old_handlers[handler]]
        params = {k: v for k, v in (config.get("params") or {}).items() if k != "actor"}
        return StoredJob(job, job.read(params))

    def names(self) -> list[str]:
        return [t.name for t in self.types]


@functools.cache
def load_table(ref: str) -> JobTable:
    """The table a ``"module:attribute"`` string names (``Settings.job_table``)."""
    table = load(ref, "job table")
    if not isinstance(table, JobTable):
        raise SraditError(f"job table {ref!r} is a {type(table).__name__}, not a JobTable")
    return table
