"""The one way to get a round: by its number, resolved once, with one message when there is no such round.

:func:`find_round` is for code inside a session (it returns the row, optionally locked); :func:`get_round` gives a
:class:`RoundHandle`, the typed, detached view that pages, commands and the driver pass around. This module reads
only ``rounds``, so every stage of the loop may use it without depending on the round's state machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, select
from sqlalchemy.orm import Session

from db.engine import read_session
from db.models import Round
from pipeline.errors import InputError
from pipeline.rounds.config import RoundConfig, round_config
from pipeline.rounds.results import RoundResults

#: A round in one of these takes no more work; the next `round start` opens a new round.
FINISHED = ("done", "abandoned")


def no_round(number: int) -> InputError:
    return InputError(f"there is no round {number} (`sradit round status` lists them)")


def maybe_round(s: Session, number: int, lock: bool = False) -> Round | None:
    """The row of round ``number``, or None; ``lock`` takes its row lock (PostgreSQL) for a read-then-write."""
    query = select(Round).where(Round.number == number)
    return s.scalar(query.with_for_update() if lock else query)


def find_round(s: Session, number: int, lock: bool = False) -> Round:
    """The row of round ``number``, which must exist."""
    row = maybe_round(s, number, lock)
    if row is None:
        raise no_round(number)
    return row


def in_round(round_column: ColumnElement[int], number: int) -> ColumnElement[bool]:
    """A list query's filter on a round-id column for round ``number``: no rows when there is no such round."""
    return round_column == select(Round.id).where(Round.number == number).scalar_subquery()


def round_id(db: Session | Engine, number: int) -> int:
    """Round ``number``'s id, inside a session or in a read of its own."""
    if isinstance(db, Session):
        return find_round(db, number).id
    with read_session(db) as s:
        return find_round(s, number).id


@dataclass(frozen=True)
class RoundHandle:
    """A round as everything above the database sees it: its settings and results typed."""

    id: int
    number: int
    status: str
    mode: str
    config: RoundConfig
    results: RoundResults
    created_at: str
    finished_at: str | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def models_line(self) -> str:
        """``mined A,B  filtered C  trained D,E`` (stages not reached yet are left out)."""
        models = self.results.models()
        return "  ".join(f"{stage} {','.join(names)}" for stage, names in models.items() if names)


def stored_config(r: Round) -> RoundConfig:
    """The configuration a round row holds (rounds stored before a key existed get its default)."""
    return round_config(r.config or {}, f"round {r.number}'s stored config")


def handle(r: Round) -> RoundHandle:
    return RoundHandle(
        r.id,
        r.number,
        r.status,
        r.mode,
        stored_config(r),
        RoundResults.from_json(r.results),
        r.created_at.strftime("%Y-%m-%d %H:%M"),
        r.finished_at.strftime("%Y-%m-%d %H:%M") if r.finished_at else None,
    )


def get_round(engine: Engine, number: int) -> RoundHandle:
    with read_session(engine) as s:
        return handle(find_round(s, number))


def rounds(engine: Engine) -> list[RoundHandle]:
    with read_session(engine) as s:
        return [handle(r) for r in s.scalars(select(Round).order_by(Round.number))]


def open_round_of(engine: Engine) -> RoundHandle | None:
    """The unfinished round, if any (there is at most one: `round start` continues it)."""
    with read_session(engine) as s:
        r = s.scalar(select(Round).where(Round.status.not_in(FINISHED)).order_by(Round.number.desc()).limit(1))
        return handle(r) if r is not None else None


def augmentations(s: Session) -> dict[str, str]:
    """Each dataset a round started on → the dataset version that round's augmentation wrote."""
    out = {}
    for r in s.scalars(select(Round).order_by(Round.number)):
        augmented = RoundResults.from_json(r.results).augmenting
        if augmented is not None and augmented.dataset and (r.config or {}).get("dataset"):
            out[r.config["dataset"]] = augmented.dataset
    return out
