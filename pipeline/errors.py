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
