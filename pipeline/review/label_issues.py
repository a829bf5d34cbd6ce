"""Label issues: an expert flags a badcase's gold codes as wrong and proposes the right ones; an engineer accepts
(a relabelled dataset version) or dismisses the flag. While a flag is open, and once it is accepted, the badcase
is held out of augmentation: rewriting a mislabelled record 20 times would multiply the error, and its variants
were judged against the wrong codes. A dismissed flag releases it.

Each operation is one transaction with its audit entry; the row it changes is locked first (``FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so two engineers resolving one flag at once cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, exists, func, select
from sqlalchemy.orm import Session

from db.base import utcnow
from db.engine import read_session, write_session
from db.models import Badcase, Dataset, LabelIssue, Record, Round
from db.vocabulary import LABEL_ISSUE_STATUSES
from pipeline.audit import audit
from pipeline.domain.codes import normalise_code, split_code_list
from pipeline.domain.label_space import OTHER, PRINCIPAL
from pipeline.errors import InputError
from pipeline.ingest.versions import current_version, relabelled_version
from pipeline.rounds.lookup import augmentations, in_round

#: statuses that keep a badcase out of rewriting and augmentation
HELD = ("open", "accepted")


def held(badcase_id: ColumnElement[int]) -> ColumnElement[bool]:
    """SQL: the badcase has an open or accepted label issue (for ``.where(~held(Badcase.id))``)."""
    return exists().where(LabelIssue.badcase_id == badcase_id, LabelIssue.status.in_(HELD))


def proposed_codes(principal: str, others: str | Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The proposed codes, normalised and checked against the task's label space; every problem names its code."""
    problems: list[str] = []
    main = normalise_code(principal or "")
    if not main:
        problems.append("the principal code is missing")
    elif main not in PRINCIPAL:
        problems.append(f"principal code {main!r} is not one of the task's principal codes ({', '.join(PRINCIPAL)})")
    if isinstance(others, str):
        codes, malformed = split_code_list(others)
    else:
        codes, malformed = split_code_list(";".join(others))
    problems += [f"other code {item!r} is not an ICD-10 code" for item in malformed]
    problems += [f"other code {c!r} is not among the task's other-diagnosis codes" for c in codes if c not in OTHER]
    if main and main in codes:
        problems.append(f"the other codes repeat the principal code {main!r}")
    if not codes and not malformed:
        problems.append("give at least one other code (every record has 1–7)")
    if problems:
        raise InputError("the proposed codes are refused: " + "; ".join(problems), problems)
    return main, tuple(codes)


@dataclass(frozen=True)
class LabelIssueRow:
    id: int
    badcase_id: int
    round_no: int
    case_id: str
    status: str
    old_principal: str
    old_others: tuple[str, ...]
    proposed_principal: str
    proposed_others: tuple[str, ...]
    comment: str | None
    flagged_by: str
    flagged_at: str
    resolved_by: str | None
    resolved_at: str | None
    resolution_note: str | None
    dataset: str | None  #: the relabelled version an acceptance made
    confidence: float | None  #: the out-of-fold model's confidence that the gold codes are wrong


def _issues(s: Session, *where: ColumnElement[bool]) -> list[LabelIssueRow]:
    rows = s.execute(
        select(LabelIssue, Badcase.label_error_confidence, Round.number, Record.case_id, Dataset.name)
        .join(Badcase, Badcase.id == LabelIssue.badcase_id)
        .join(Round, Round.id == Badcase.round_id)
        .join(Record, Record.id == Badcase.record_id)
        .outerjoin(Dataset, Dataset.id == LabelIssue.dataset_id)
        .where(*where)
    ).all()
    out = [
        LabelIssueRow(
            i.id,
            i.badcase_id,
            number,
            case_id,
            i.status,
            i.old_principal,
            tuple(i.old_others),
            i.proposed_principal,
            tuple(i.proposed_others),
            i.comment,
            i.flagged_by,
            i.flagged_at.strftime("%Y-%m-%d %H:%M"),
            i.resolved_by,
            i.resolved_at.strftime("%Y-%m-%d %H:%M") if i.resolved_at else None,
            i.resolution_note,
            dataset,
            confidence,
        )
        for i, confidence, number, case_id, dataset in rows
    ]
    # Open first, then the likeliest label errors (no figure last), then the oldest.
    return sorted(out, key=lambda r: (r.status != "open", -(r.confidence if r.confidence is not None else -1), r.id))


def list_label_issues(engine: Engine, status: str | None = None, round_no: int | None = None) -> list[LabelIssueRow]:
    """Label issues, open first and likeliest label errors first; filtered by status and round."""
    where = []
    if status is not None:
        if status not in LABEL_ISSUE_STATUSES:
            raise InputError(f"status {status!r} is not one of {', '.join(LABEL_ISSUE_STATUSES)}")
        where.append(LabelIssue.status == status)
    if round_no is not None:
        where.append(in_round(Badcase.round_id, round_no))
    with read_session(engine) as s:
        return _issues(s, *where)


def issues_of_badcase(engine: Engine, badcase_id: int) -> list[LabelIssueRow]:
    with read_session(engine) as s:
        return _issues(s, LabelIssue.badcase_id == badcase_id)


def held_badcase_ids(engine: Engine, round_no: int) -> set[int]:
    """The round's badcases held out of rewriting, review and augmentation by an open or accepted label issue."""
    with read_session(engine) as s:
        return set(
            s.scalars(
                select(Badcase.id)
                .where(in_round(Badcase.round_id, round_no))
                # held() is correlated on the outer badcase
                .where(held(Badcase.id))
            )
        )


def label_issue_counts(engine: Engine) -> dict[int, dict[str, int]]:
    """Per round number: label issues by status (open, accepted, dismissed), zeros included."""
    with read_session(engine) as s:
        rows = s.execute(
            select(Round.number, LabelIssue.status, func.count(LabelIssue.id))
            .join(Badcase, Badcase.round_id == Round.id)
            .join(LabelIssue, LabelIssue.badcase_id == Badcase.id)
            .group_by(Round.number, LabelIssue.status)
        ).all()
    out: dict[int, dict[str, int]] = {}
    for number, status, n in rows:
        out.setdefault(number, {"open": 0, "accepted": 0, "dismissed": 0})[status] = n
    return out


def find_badcase(engine: Engine, case_id: str, round_no: int | None = None) -> int:
    """The badcase of record ``case_id`` in round ``round_no`` (default: the newest round where it is one)."""
    with read_session(engine) as s:
        q = (
            select(Badcase.id, Round.number)
            .join(Round, Round.id == Badcase.round_id)
            .join(Record, Record.id == Badcase.record_id)
            .where(Record.case_id == case_id.strip())
            .order_by(Round.number.desc())
        )
        if round_no is not None:
            q = q.where(in_round(Badcase.round_id, round_no))
        found = s.execute(q.limit(1)).first()
    if found is None:
        where = f" in round {round_no}" if round_no is not None else ""
        raise InputError(f"record {case_id.strip()} is not a badcase{where}")
    return int(found[0])


def flag_label_issue(
    engine: Engine,
    badcase_id: int,
    principal: str,
    others: str | Sequence[str],
    actor: str,
    comment: str | None = None,
) -> int:
    """Flag a badcase's gold codes as wrong, proposing ``principal`` and ``others``; returns the issue's id.
    Refused, writing nothing, for a code outside the label space, a badcase with an open or accepted flag, or a
    proposal equal to the gold codes. The review board and the Badcases page call this."""
    main, codes = proposed_codes(principal, others)
    with write_session(engine) as s:
        b = s.scalar(select(Badcase).where(Badcase.id == badcase_id).with_for_update())
        if b is None:
            raise InputError(f"there is no badcase {badcase_id}")
        rec = s.get(Record, b.record_id)
        assert rec is not None  # a badcase goes with its record (ON DELETE CASCADE)
        standing = s.scalar(
            select(LabelIssue).where(LabelIssue.badcase_id == b.id, LabelIssue.status.in_(HELD)).limit(1)
        )
        if standing is not None:
            raise InputError(
                f"badcase {b.id} (record {rec.case_id}) already has label issue {standing.id}, {standing.status}, "
                f"flagged by {standing.flagged_by}"
            )
        old = (rec.principal_code or "", list(rec.other_codes or []))
        if main == old[0] and set(codes) == set(old[1]):
            raise InputError(f"record {rec.case_id}: the proposed codes are its gold codes; nothing to flag")
        issue = LabelIssue(
            badcase_id=b.id,
            status="open",
            old_principal=old[0],
            old_others=old[1],
            proposed_principal=main,
            proposed_others=list(codes),
            comment=(comment or "").strip() or None,
            flagged_by=actor,
        )
        s.add(issue)
        s.flush()
        audit(
            s,
            actor,
            "label_issue.flag",
            f"label issue {issue.id}",
            badcase=b.id,
            case_id=rec.case_id,
            old={"principal": old[0], "others": old[1]},
            proposed={"principal": main, "others": list(codes)},
        )
        return issue.id


@dataclass(frozen=True)
class Accepted:
    issue_id: int
    case_id: str
    dataset: str  #: the new, relabelled version
    parent: str  #: the version it was made from


def _locked_issue(s: Session, issue_id: int) -> LabelIssue:
    issue = s.scalar(select(LabelIssue).where(LabelIssue.id == issue_id).with_for_update())
    if issue is None:
        raise InputError(f"there is no label issue {issue_id}")
    if issue.status == "accepted":
        made = s.get(Dataset, issue.dataset_id) if issue.dataset_id else None
        raise InputError(
            f"label issue {issue_id} was already accepted by {issue.resolved_by}"
            + (f": dataset {made.name} holds its codes" if made else "")
        )
    if issue.status == "dismissed":
        raise InputError(
            f"label issue {issue_id} was dismissed by {issue.resolved_by}; flag the badcase again to reopen it"
        )
    return issue


def accept_label_issue(engine: Engine, issue_id: int, actor: str, note: str | None = None) -> Accepted:
    """Accept the proposal: a new dataset version, the current version of the record's lineage with the record's
    gold codes (and its merged variants') replaced, its provenance naming this issue. Accepting an accepted or a
    dismissed issue is refused."""
    with write_session(engine) as s:
        issue = _locked_issue(s, issue_id)
        b = s.get(Badcase, issue.badcase_id)
        assert b is not None
        rec = s.get(Record, b.record_id)
        assert rec is not None
        rnd = s.get(Round, b.round_id)
        source = current_version(s, rec.dataset.name, augmentations(s))
        now_in = s.scalar(
            select(Record).where(
                Record.dataset_id == source.id, Record.case_id == rec.case_id, Record.origin == "original"
            )
        )
        if now_in is not None and (now_in.principal_code, set(now_in.other_codes or [])) == (
            issue.proposed_principal,
            set(issue.proposed_others),
        ):
            raise InputError(
                f"label issue {issue_id}: record {rec.case_id} already carries the proposed codes in dataset "
                f"{source.name}; dismiss the issue instead"
            )
        name = f"{source.name.split('@')[0]}@L{issue.id}"
        made = relabelled_version(
            s,
            source,
            name,
            rec.case_id,
            issue.proposed_principal,
            issue.proposed_others,
            {"label_issue": issue.id, "badcase": b.id, "round": rnd.number if rnd else None, "accepted_by": actor},
        )
        issue.status = "accepted"
        issue.resolved_by, issue.resolved_at = actor, utcnow()
        issue.resolution_note = (note or "").strip() or None
        issue.dataset_id = made.id
        audit(
            s,
            actor,
            "label_issue.accept",
            f"label issue {issue.id}",
            case_id=rec.case_id,
            dataset=name,
            parent=source.name,
            old=made.provenance["old"] if made.provenance else None,
            new={"principal": issue.proposed_principal, "others": list(issue.proposed_others)},
        )
        return Accepted(issue.id, rec.case_id, name, source.name)


def dismiss_label_issue(engine: Engine, issue_id: int, actor: str, note: str | None = None) -> None:
    """Dismiss the flag: the gold codes stand and the badcase goes back to augmentation."""
    with write_session(engine) as s:
        issue = _locked_issue(s, issue_id)
        issue.status = "dismissed"
        issue.resolved_by, issue.resolved_at = actor, utcnow()
        issue.resolution_note = (note or "").strip() or None
        audit(s, actor, "label_issue.dismiss", f"label issue {issue.id}", badcase=issue.badcase_id, note=note)
