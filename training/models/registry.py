"""The registry of trained models, with lineage (table ``registered_models``).

Every model that exists as weights the tool can load — an SFT or GRPO model trained here or elsewhere
(LLaMA-Factory, verl) — and every K-fold ensemble of them is a row: its name, kind, sub-task, fold, the round
and dataset version it was trained on, its parent (base folder or registered model), the learner that made it,
the exact training configuration, its metrics and its folder. Names are unique across the registry and the
models file, so a name picks one model everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import read_session, write_session
from db.models import RegisteredModel
from db.vocabulary import REGISTERED_MODEL_KINDS, SUBTASKS
from pipeline.audit import audit
from pipeline.errors import InputError
from training.models.weights import weight_files, weights_sha256

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


@dataclass(frozen=True)
class Registration:
    """What registering a model records (see :class:`db.models.RegisteredModel`)."""

    name: str
    kind: str
    path: str | None = None
    subtask: str | None = None
    fold: int | None = None
    round_no: int | None = None
    dataset: str | None = None
    parent: str | None = None
    learner: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    members: list[dict[str, Any]] = field(default_factory=list)
    job_id: int | None = None


def check_name(name: str, taken: Sequence[str] = ()) -> None:
    """A model name is a word of letters, digits, ``.``, ``_`` and ``-`` that no other model uses."""
    if not _NAME_RE.match(name):
        raise InputError(f"model name {name!r}: use letters, digits, '.', '_' and '-' (at most 200 characters)")
    if name in taken:
        raise InputError(f"model name {name!r} is already used by an entry of the models file")


def _check(reg: Registration) -> None:
    if reg.kind not in REGISTERED_MODEL_KINDS:
        raise InputError(f"model {reg.name!r}: kind {reg.kind!r} is not one of {', '.join(REGISTERED_MODEL_KINDS)}")
    if reg.subtask is not None and reg.subtask not in SUBTASKS:
        raise InputError(f"model {reg.name!r}: sub-task {reg.subtask!r} is not one of {', '.join(SUBTASKS)}")
    if reg.kind == "ensemble":
        if not reg.members:
            raise InputError(f"ensemble {reg.name!r} has no members")
        return
    if not reg.path or not Path(reg.path).is_dir():
        raise InputError(f"model {reg.name!r}: --path {reg.path!r} is not a folder")
    if not (Path(reg.path) / "config.json").is_file():
        raise InputError(f"model {reg.name!r}: {reg.path} holds no config.json (not a saved transformers model)")


def identify(engine: Engine, reg: Registration) -> Registration:
    """``reg`` with the checksum of its weights and of its parent's (a registered model's recorded checksum, or a
    base folder's own) in its metrics: what it is, not only where it lies. Read outside any write transaction,
    since a 7B model's weights take a while to hash."""
    if reg.kind == "ensemble":
        return reg
    _check(reg)
    metrics = {**reg.metrics, "weights_sha256": weights_sha256(reg.path or "")}
    parent = find(engine, reg.parent) if reg.parent else None
    if parent is not None:
        metrics["parent_weights_sha256"] = (parent.metrics or {}).get("weights_sha256")
    elif reg.parent and weight_files(reg.parent):
        metrics["parent_weights_sha256"] = weights_sha256(reg.parent)
    return replace(reg, metrics=metrics)


def add(session: Session, reg: Registration, actor: str, taken: Sequence[str] = ()) -> RegisteredModel:
    """Register in the caller's transaction (so a K-fold run registers its models with its results). ``reg``
    comes from :func:`identify`: a model without the checksum of its weights is never registered."""
    check_name(reg.name, taken)
    _check(reg)
    if reg.kind != "ensemble" and "weights_sha256" not in reg.metrics:
        raise ValueError(f"model {reg.name!r}: registered without identify() (no weights_sha256)")
    if session.scalar(select(RegisteredModel.id).where(RegisteredModel.name == reg.name)) is not None:
        raise InputError(f"a model named {reg.name!r} is already registered (`sradit model show {reg.name}`)")
    row = RegisteredModel(
        name=reg.name,
        kind=reg.kind,
        subtask=reg.subtask,
        fold=reg.fold,
        round_no=reg.round_no,
        dataset=reg.dataset,
        parent=reg.parent,
        learner=reg.learner,
        path=str(Path(reg.path).resolve()) if reg.path else None,
        config=reg.config,
        metrics=reg.metrics,
        members=reg.members,
        job_id=reg.job_id,
        created_by=actor,
    )
    try:
        with session.begin_nested():  # a savepoint: the caller's transaction survives a refused name
            session.add(row)
            session.flush()
    except IntegrityError:
        # The same name registered at the same moment and committed first. SQLite's BEGIN IMMEDIATE queues the
        # two registrations; on PostgreSQL both pass the check above and the unique name decides.
        if session.scalar(select(RegisteredModel.id).where(RegisteredModel.name == reg.name)) is None:
            raise
        raise InputError(f"a model named {reg.name!r} is already registered (`sradit model show {reg.name}`)") from None
    audit(session, actor, "model.register", reg.name, kind=reg.kind, subtask=reg.subtask, fold=reg.fold)
    return row


def register(engine: Engine, reg: Registration, actor: str, taken: Sequence[str] = ()) -> int:
    check_name(reg.name, taken)  # before hashing: a refused name costs nothing
    reg = identify(engine, reg)
    with write_session(engine) as s:
        return add(s, reg, actor, taken).id


def registered(engine: Engine) -> list[RegisteredModel]:
    """Every registered model, oldest first."""
    with read_session(engine) as s:
        return list(s.scalars(select(RegisteredModel).order_by(RegisteredModel.id)))


def find(engine: Engine, name: str) -> RegisteredModel | None:
    with read_session(engine) as s:
        return s.scalar(select(RegisteredModel).where(RegisteredModel.name == name))


def taken_names(engine: Engine, names: Sequence[str]) -> list[str]:
    """Which of ``names`` are registered already (to refuse a K-fold run before it trains anything)."""
    with read_session(engine) as s:
        return list(s.scalars(select(RegisteredModel.name).where(RegisteredModel.name.in_(list(names)))))
