"""Badcases given to experts: each expert's "assigned to me" queue on the Review page.

An engineer deals a round's unfinished badcases out to named accounts (`sradit review assign`, or the Badcases
page), each badcase to ``copies`` of them (usually the reviews a badcase needs), in badcase order, each next
badcase to whoever has the fewest in the round so far: the work is split evenly and no one gets a badcase twice.
Dealing again adds only what is missing, so new experts can join a round half done. An assignment narrows what an
expert is shown; it never stops anyone from reviewing any badcase.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, exists, func, select

from db.engine import read_session, write_session
from db.models import Assignment, Badcase, User
from pipeline.audit import audit
from pipeline.errors import InputError
from pipeline.rounds.lookup import round_id

#: Badcases still worth dealing out: not yet decided by the experts.
OPEN_STATUSES = ("open", "in_review")


@dataclass(frozen=True)
class Dealt:
    """What one deal did."""

    round_no: int
    added: dict[str, int]  #: account name → badcases newly assigned to it, in the order the names were given
    complete: int  #: badcases that already had their copies

    def text(self) -> str:
        given = ", ".join(f"{name} {n}" for name, n in self.added.items())
        return f"round {self.round_no}: assigned {given}; {self.complete} badcases already had their experts"


def assigned_to(reviewer_id: int) -> ColumnElement[bool]:
    """For a query over badcases: those assigned to this account."""
    return exists().where(Assignment.badcase_id == Badcase.id, Assignment.user_id == reviewer_id)


def assign(engine: Engine, round_no: int, experts: Sequence[str], actor: str, copies: int = 1) -> Dealt:
    """Deal round ``round_no``'s unfinished badcases to ``experts`` (account names), ``copies`` each."""
    names = list(dict.fromkeys(n.strip() for n in experts if n.strip()))
    if not names:
        raise InputError("name at least one expert to assign badcases to")
    if not 1 <= copies <= len(names):
        raise InputError(f"copies {copies}: each badcase goes to between 1 and {len(names)} of the experts named")
    with write_session(engine) as s:
        users = {u.name: u for u in s.scalars(select(User).where(User.name.in_(names)))}
        unknown = [n for n in names if n not in users]
        if unknown:
            raise InputError(f"no account named {', '.join(repr(n) for n in unknown)}")
        disabled = [n for n in names if not users[n].active]
        if disabled:
            raise InputError(f"account {', '.join(repr(n) for n in disabled)} is disabled")
        rid = round_id(s, round_no)
        badcases = list(
            s.scalars(
                select(Badcase.id)
                .where(Badcase.round_id == rid, Badcase.status.in_(OPEN_STATUSES))
                .order_by(Badcase.id)
                .with_for_update()  # two deals at once on PostgreSQL: the second waits and sees the first's rows
            )
        )
        held: dict[int, set[int]] = {b: set() for b in badcases}
        for badcase_id, user_id in s.execute(
            select(Assignment.badcase_id, Assignment.user_id).join(Badcase).where(Badcase.round_id == rid)
        ):
            held.setdefault(badcase_id, set()).add(user_id)
        load = Counter({users[n].id: 0 for n in names})
        for holders in held.values():
            load.update(u for u in holders if u in load)
        added = {n: 0 for n in names}
        complete = 0
        for badcase_id in badcases:
            missing = copies - len(held[badcase_id] & set(load))
            if missing <= 0:
                complete += 1
                continue
            free = [n for n in names if users[n].id not in held[badcase_id]]
            for name in sorted(free, key=lambda n: load[users[n].id])[:missing]:  # stable: the given order breaks ties
                s.add(Assignment(badcase_id=badcase_id, user_id=users[name].id, assigned_by=actor))
                load[users[name].id] += 1
                added[name] += 1
        audit(s, actor, "review.assign", f"round {round_no}", experts=names, copies=copies, added=added)
    return Dealt(round_no, added, complete)


def assigned_counts(engine: Engine, round_no: int) -> dict[str, int]:
    """Account name → badcases of the round assigned to it, by name."""
    with read_session(engine) as s:
        rid = round_id(s, round_no)
        rows = s.execute(
            select(User.name, func.count(Assignment.id))
            .join(Assignment, Assignment.user_id == User.id)
            .join(Badcase, Badcase.id == Assignment.badcase_id)
            .where(Badcase.round_id == rid)
            .group_by(User.name)
            .order_by(User.name)
        )
        return {name: n for name, n in rows}
