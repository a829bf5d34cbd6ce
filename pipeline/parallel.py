"""Spreading CPU-bound work over processes (rule rewrites, the label and facts filters).

Most of this work is pure Python, so threads would queue on the interpreter lock; joblib's loky
processes are started once per process tree and reused by every later call. A call ships its function
and inputs to the workers, which costs tens of milliseconds, so small batches stay in this process.
The result never depends on the number of workers: chunks are contiguous and come back in order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from joblib import Parallel, delayed

T = TypeVar("T")
R = TypeVar("R")


def worker_count(requested: int | None, items: int, min_chunk: int) -> int:
    """Processes for ``items`` work items: ``requested`` (0 or None: one per CPU core), but never so many
    that a chunk holds fewer than ``min_chunk`` items."""
    cores = requested or os.cpu_count() or 1
    return max(1, min(cores, items // max(1, min_chunk)))


def map_chunks(
    fn: Callable[[list[T]], R], items: Sequence[T], workers: int | None = None, min_chunk: int = 100
) -> list[R]:
    """``fn`` over contiguous chunks of ``items``, one chunk per worker process, results in order; a
    single chunk (all of ``items``) runs in this process."""
    n = worker_count(workers, len(items), min_chunk)
    if n < 2:
        return [fn(list(items))]
    bounds = [len(items) * k // n for k in range(n + 1)]
    return list(
        Parallel(n_jobs=n, backend="loky")(
            delayed(fn)(list(items[a:b])) for a, b in zip(bounds, bounds[1:], strict=False)
        )
    )


def imap(fn: Callable[[T], R], items: Sequence[T], workers: int | None = None, min_items: int = 2) -> Iterator[R]:
    """``fn`` of each item, in order, each result handed on as soon as it is ready (the workers go on
    with the next items meanwhile): a caller that stores results one by one loses only those not yet
    stored when it is killed. Fewer than ``min_items`` items per worker run in this process."""
    n = worker_count(workers, len(items), min_items)
    if n < 2:
        return (fn(x) for x in items)
    return iter(Parallel(n_jobs=n, backend="loky", return_as="generator")(delayed(fn)(x) for x in items))
