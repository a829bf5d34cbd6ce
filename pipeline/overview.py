"""What is in the database, for the home page and ``sradit db init``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from db.engine import read_session
from db.models import AuditEntry, Code, Dataset, Job, LabelCode, Record, User


@dataclass(frozen=True)
class DatasetCount:
    name: str
    records: int
    labelled: int
    variants: int


@dataclass(frozen=True)
class Overview:
    datasets: list[DatasetCount]
    emrs: int  #: distinct original EMRs (by 病案标识), however many dataset versions hold a copy
    labelled_emrs: int
    dictionary_codes: int
    label_codes: dict[str, int]
    users: dict[str, int]
    jobs: dict[str, int]
    recent: list[tuple[str, str, str, str]]  #: (when, who, action, target) of the newest audit entries


def overview(engine: Engine, recent: int = 10) -> Overview:
    with read_session(engine) as s:
        rows = s.execute(
            select(
                Dataset.name,
                func.count(Record.id),
                func.count(Record.principal_code),
                func.count(Record.id).filter(Record.origin == "variant"),
            )
            .outerjoin(Record, Record.dataset_id == Dataset.id)
            .group_by(Dataset.id)
            .order_by(Dataset.name)
        ).all()
        audit_rows = s.execute(
            select(AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.target)
            .order_by(AuditEntry.id.desc())
            .limit(recent)
        ).all()
        originals = select(Record.case_id).where(Record.origin == "original")
        return Overview(
            datasets=[DatasetCount(n, r, lab, v) for n, r, lab, v in rows],
            emrs=s.scalar(select(func.count()).select_from(originals.distinct().subquery())) or 0,
            labelled_emrs=s.scalar(
                select(func.count()).select_from(
                    originals.where(Record.principal_code.is_not(None)).distinct().subquery()
                )
            )
            or 0,
            dictionary_codes=s.scalar(select(func.count()).select_from(Code)) or 0,
            label_codes=dict(s.execute(select(LabelCode.role, func.count()).group_by(LabelCode.role)).all()),
            users=dict(s.execute(select(User.role, func.count()).group_by(User.role)).all()),
            jobs=dict(s.execute(select(Job.status, func.count()).group_by(Job.status)).all()),
            recent=[
                (at.strftime("%Y-%m-%d %H:%M"), actor, action, target or "") for at, actor, action, target in audit_rows
            ],
        )


def round_numbers(engine: Engine) -> list[int]:
    """Rounds, newest first."""
    from db.models import Round

    with read_session(engine) as s:
        return list(s.scalars(select(Round.number).order_by(Round.number.desc())))
