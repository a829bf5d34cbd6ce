"""What every command group shares: the error wrapper, the lazy settings/engine context, progress bars."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from pipeline.errors import SraditError

F = TypeVar("F", bound=Callable[..., Any])


def friendly(fn: F) -> F:
    """Turn user errors into a message and exit code 1; SRADIT_DEBUG=1 shows tracebacks."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SraditError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except BrokenPipeError:
            raise  # the reader went away (`sradit jobs list | head`): click ends quietly
        except Exception as e:  # an unexpected failure still gets one line, not a traceback
            if os.environ.get("SRADIT_DEBUG"):
                raise
            click.echo(f"error: {type(e).__name__}: {e} (set SRADIT_DEBUG=1 for the traceback)", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


class Ctx:
    """Settings and the engine, created lazily so that `--help` touches no database."""

    def __init__(self) -> None:
        from pipeline.settings import Settings

        self.settings = Settings.from_env()
        self._engine: Any = None

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from pipeline.database import engine_for

            self._engine = engine_for(self.settings)
        return self._engine

    def ready_engine(self) -> Any:
        """The engine of a database whose schema is current (else a clear error)."""
        from pipeline.database import require_schema

        require_schema(self.engine)
        return self.engine


pass_ctx = click.make_pass_decorator(Ctx)


def progress_bar(label: str) -> Any:
    """A click progress bar driven by progress(done, total) callbacks."""
    bar = click.progressbar(length=1000, label=label, file=sys.stderr)
    state = {"done": 0}

    def update(done: int, total: int) -> None:
        target = int(1000 * done / total) if total else 1000
        bar.update(max(0, target - state["done"]))
        state["done"] = max(state["done"], target)

    return bar, update
