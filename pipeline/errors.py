"""User-facing errors: raised for bad input, printed without a traceback by the CLI and the app."""

from __future__ import annotations


class SraditError(Exception):
    """Base of every error a user can cause and fix."""


class InputError(SraditError, ValueError):
    """Bad input. ``problems`` lists every problem found, each naming its record/row and field."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        shown = self.problems[:50]
        more = len(self.problems) - len(shown)
        lines = [head, *(f"  - {p}" for p in shown)]
        if more:
            lines.append(f"  … and {more} more")
        return "\n".join(lines)


class NotLearned(SraditError):
    """A training run ended without learning (its weights did not move, or no update had a direction). It ran,
    so its job is kept, failed with this message, and what it trained is not registered for a round's use."""


def failure_message(error: BaseException) -> str:
    """What a failed job's row says: a user error as itself, anything else with its type (its traceback is in
    the job's log)."""
    return str(error) if isinstance(error, SraditError) else f"{type(error).__name__}: {error}"
