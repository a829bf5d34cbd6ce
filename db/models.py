"""The data model (docs/data-model.md). Every schema change comes with an Alembic migration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, utcnow
from db.vocabulary import (
    BADCASE_STATUSES,
    JOB_BACKENDS,
    JOB_LANES,
    JOB_STATUSES,
    LABEL_ISSUE_STATUSES,
    LABEL_ROLES,
    MODEL_RUN_KINDS,
    RECORD_ORIGINS,
    REGISTERED_MODEL_KINDS,
    REVIEW_DECISIONS,
    ROUND_STAGES,
    ROUND_STATUSES,
    SELECTION_METHODS,
    SUBTASKS,
    USER_ROLES,
    VARIANT_STATUSES,
    one_of,
)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: how a version was made from another, e.g. {"kind": "relabel", "parent": "train@r1", "parent_id": 2,
    #: "label_issue": 3, "case_id": …, "old": …, "new": …}; None for an import or a round's augmentation
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    records: Mapped[list[Record]] = relationship(back_populates="dataset")


class Record(Base):
    """One EMR: an original from an import, or a variant written from a parent record."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("dataset_id", "case_id"),
        CheckConstraint(one_of("origin", RECORD_ORIGINS), name="origin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[str] = mapped_column(String(200))  #: 病案标识
    sections: Mapped[dict[str, str]] = mapped_column(JSON)  #: the eleven text sections by name
    principal_code: Mapped[str | None] = mapped_column(String(64))  #: None for unlabelled records
    other_codes: Mapped[list[str] | None] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))  #: sha256 of sections + labels
    origin: Mapped[str] = mapped_column(String(16), default="original")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("records.id", ondelete="SET NULL"))
    round_no: Mapped[int | None] = mapped_column(Integer)
    fold: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="records")

    @property
    def labelled(self) -> bool:
        return self.principal_code is not None


class Code(Base):
    """An entry of the ICD-10 dictionary."""

    __tablename__ = "codes"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class LabelCode(Base):
    """A code of the task's label space, in its role (principal or other)."""

    __tablename__ = "label_codes"
    __table_args__ = (CheckConstraint(one_of("role", LABEL_ROLES), name="role"),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(one_of("role", USER_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: the expert's board keys where they differ from the defaults, and auto-advance (pipeline.review.keys)
    review_keys: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class UserSession(Base):
    """A signed-in browser: its cookie holds a random token, this row only the token's SHA-256, so a copy of
    the database signs no one in. Revoked at sign-out, on a password change and when the account is disabled
    (pipeline.accounts.sessions)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    client: Mapped[str | None] = mapped_column(String(100))  #: the address it signed in from


class SigninFailures(Base):
    """Failed sign-ins in a row, per account name typed and per client address (``account:<name>`` or
    ``client:<address>``): the throttle of pipeline.accounts.throttle reads and writes them."""

    __tablename__ = "signin_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Job(Base):
    """Long work (docs/jobs.md): one row per run, whether started by the CLI or the UI."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(one_of("status", JOB_STATUSES), name="status"),
        CheckConstraint(one_of("lane", JOB_LANES), name="lane"),
        CheckConstraint(one_of("backend", JOB_BACKENDS), name="backend"),
        CheckConstraint(one_of("stage", ROUND_STAGES, nullable=True), name="stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    #: cpu or gpu: each lane runs its own queue, so a long training never holds up a mining job
    lane: Mapped[str] = mapped_column(String(8), default="cpu", server_default="cpu", index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pid: Mapped[int | None] = mapped_column(Integer)
    log_path: Mapped[str | None] = mapped_column(Text)
    metrics_path: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the machine whose worker runs the job (its pid means something only there) and that worker's last
    #: sign of life: a worker on another machine is judged dead by a stale heartbeat alone
    worker_host: Mapped[str | None] = mapped_column(String(255))
    #: local or ray (JOB_BACKENDS); a Ray job's submission id, by which its status, logs and stop are asked for
    backend: Mapped[str] = mapped_column(String(8), default="local", server_default="local")
    backend_id: Mapped[str | None] = mapped_column(String(100))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the round whose stage this job ran and that stage (one of ROUND_STAGES), so a round finds its own jobs;
    #: both None for work outside a round. Deleting a round keeps its jobs' rows and logs.
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"), index=True)
    stage: Mapped[str | None] = mapped_column(String(16))
    # Loaded with the row (a second SELECT, not a join: the lane claims lock jobs FOR UPDATE): its number shows.
    round: Mapped[Round | None] = relationship(lazy="selectin")


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Round(Base):
    """One turn of the SRADIT loop: identify → generate → filter → review → augment → retrain."""

    __tablename__ = "rounds"
    __table_args__ = (CheckConstraint(one_of("status", ROUND_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="identifying")
    #: interactive (experts decide) or non-interactive (the filter chain approves: marked in data and reports)
    mode: Mapped[str] = mapped_column(String(20), default="interactive")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  #: model, dataset, N, generator, …
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  #: per stage: job id and figures
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ModelRun(Base):
    """A model's predictions over a dataset: K-fold mining (out-of-fold) or a plain prediction run."""

    __tablename__ = "model_runs"
    __table_args__ = (CheckConstraint(one_of("kind", MODEL_RUN_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    model_name: Mapped[str] = mapped_column(String(200))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    n_records: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float | None] = mapped_column()  #: competition score ×100, when the records are labelled
    principal_accuracy: Mapped[float | None] = mapped_column()
    other_f1: Mapped[float | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("run_id", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    fold: Mapped[int | None] = mapped_column(Integer)
    principal_code: Mapped[str | None] = mapped_column(String(64))
    other_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    raw_output: Mapped[str | None] = mapped_column(Text)  #: what the model wrote (LLMs), for inspection
    parsed: Mapped[bool] = mapped_column(default=True)  #: False when the output could not be read
    votes: Mapped[dict[str, Any] | None] = mapped_column(JSON)  #: TCECP samples and their votes
    score: Mapped[float | None] = mapped_column()  #: per-record competition score in [0, 1]


class Badcase(Base):
    """A training record the model got wrong in a round's out-of-fold predictions."""

    __tablename__ = "badcases"
    __table_args__ = (
        UniqueConstraint("round_id", "record_id"),
        CheckConstraint(one_of("status", BADCASE_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    prediction_id: Mapped[int] = mapped_column(ForeignKey("predictions.id", ondelete="CASCADE"))
    error_types: Mapped[list[str]] = mapped_column(JSON)  #: subset of db.vocabulary.BADCASE_ERRORS
    gold_principal: Mapped[str] = mapped_column(String(64))
    predicted_principal: Mapped[str | None] = mapped_column(String(64))
    missing_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  #: gold other codes not predicted
    extra_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  #: predicted other codes not in gold
    other_f1: Mapped[float] = mapped_column()
    score: Mapped[float] = mapped_column()
    #: how likely the gold codes themselves are wrong: baseline 1 − p(gold); LLM learner: share of votes against
    label_error_confidence: Mapped[float | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    record: Mapped[Record] = relationship()


class Assignment(Base):
    """A badcase given to an expert to review (their "assigned to me" queue); others may still review it."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("badcase_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    badcase_id: Mapped[int] = mapped_column(ForeignKey("badcases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_by: Mapped[str] = mapped_column(String(100))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Variant(Base):
    """A rewrite of a badcase's record that should keep its labels; never deleted, only judged."""

    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("badcase_id", "seq"),
        Index("ix_variants_badcase_passed_rank", "badcase_id", "passed", "rank"),
        CheckConstraint(one_of("status", VARIANT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    badcase_id: Mapped[int] = mapped_column(ForeignKey("badcases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  #: 0-based position among the badcase's variants
    sections: Mapped[dict[str, str] | None] = mapped_column(JSON)  #: None when generation failed
    generator: Mapped[str] = mapped_column(String(32))  #: rules | llm
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(32))
    temperature: Mapped[float | None] = mapped_column()
    seed: Mapped[int | None] = mapped_column(Integer)
    edits: Mapped[list[str]] = mapped_column(JSON, default=list)  #: what the rule generator changed
    status: Mapped[str] = mapped_column(String(16), default="generated")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    passed: Mapped[bool | None] = mapped_column()  #: every filter passed; None until filtered
    rank: Mapped[int | None] = mapped_column(Integer)  #: review order among the passed variants (1 first)
    similarity: Mapped[float | None] = mapped_column()  #: rapidfuzz ratio to the original record, 0–100
    #: digest of the variant's clinical facts as its generator read them (pipeline.domain.facts.facts_digest), kept so
    #: that the facts filter need not read them again; None when the generator did not read them
    facts: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VariantVerdict(Base):
    """One filter's judgement of one variant, with its reason (``detail`` holds predicted codes, votes, facts)."""

    __tablename__ = "variant_verdicts"

    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True)
    filter: Mapped[str] = mapped_column(String(32), primary_key=True)
    passed: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Review(Base):
    """One expert decision on one variant. Undo marks it undone; nothing is deleted."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(one_of("decision", REVIEW_DECISIONS), name="decision"),
        CheckConstraint("score IS NULL OR (score BETWEEN 1 AND 5)", name="score"),
        Index("ix_reviews_variant_reviewer", "variant_id", "reviewer_id"),
        Index("ix_reviews_reviewer_created", "reviewer_id", "id"),
        # One vote per expert per variant: a second decision marks the first undone (pipeline/review/queue.py);
        # the database refuses two active rows even if a stale tab races past that code.
        Index(
            "uq_reviews_active_vote",
            "variant_id",
            "reviewer_id",
            unique=True,
            sqlite_where=text("undone_at IS NULL"),
            postgresql_where=text("undone_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    badcase_id: Mapped[int] = mapped_column(ForeignKey("badcases.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16))
    score: Mapped[int | None] = mapped_column(Integer)
    best: Mapped[bool] = mapped_column(default=False)  #: the reviewer's best variant of the badcase
    reason: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float | None] = mapped_column()  #: time from the item shown to the decision
    board_seconds: Mapped[float | None] = mapped_column()  #: on a best pick from the board: board open → pick
    #: the expert's active time on this decision: gaps of over a minute between their actions left out
    active_seconds: Mapped[float | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: this expert's earlier vote on the same variant that this one replaced (undo makes it active again)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))
    #: this expert's best pick on another variant of the badcase whose best this one took (undo gives it back)
    unbests_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))
    #: the first review of one "approve / reject the rest" (every review of it points there): undone together
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))


class Selection(Base):
    """The best variant of a badcase: the experts' majority, or an engineer's settlement of a tie."""

    __tablename__ = "selections"
    # "filter": chosen by the filter chain alone in a non-interactive round, never by an expert.
    __table_args__ = (CheckConstraint(one_of("method", SELECTION_METHODS), name="method"),)

    badcase_id: Mapped[int] = mapped_column(ForeignKey("badcases.id", ondelete="CASCADE"), primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class DatasetExport(Base):
    """A written dataset version: what went in, where, how many rows, and a checksum of its files."""

    __tablename__ = "dataset_exports"
    __table_args__ = (UniqueConstraint("round_no", "format", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_no: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    row_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    checksum: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RegisteredModel(Base):
    """A model the tool trained or was told about, with its lineage: what it was trained from and on.

    ``baseline``, ``external`` models and ``learner`` entries live in the models file (``models.toml``);
    every model that exists as trained weights (or as a vote of such models) is a row here.
    """

    __tablename__ = "registered_models"
    __table_args__ = (
        CheckConstraint(one_of("kind", REGISTERED_MODEL_KINDS), name="kind"),
        CheckConstraint(one_of("subtask", SUBTASKS, nullable=True), name="subtask"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    subtask: Mapped[str | None] = mapped_column(String(16))  #: None for an ensemble of pairs
    fold: Mapped[int | None] = mapped_column(Integer)
    round_no: Mapped[int | None] = mapped_column(Integer)
    dataset: Mapped[str | None] = mapped_column(String(200))  #: the dataset (version) it was trained on
    parent: Mapped[str | None] = mapped_column(Text)  #: base model folder or the registered model it started from
    learner: Mapped[str | None] = mapped_column(String(200))  #: the models-file learner that trained it
    path: Mapped[str | None] = mapped_column(Text)  #: its folder (None for an ensemble)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  #: the exact training (or vote) settings
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: an ensemble's members: [{"fold": k, "principal": name, "other": name, "score": held-out score}]
    members: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReasoningTrace(Base):
    """A teacher LLM's reasoning from a record to its gold codes (CoT distillation), per sub-task."""

    __tablename__ = "reasoning_traces"
    __table_args__ = (UniqueConstraint("record_id", "subtask", "teacher", "prompt_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    subtask: Mapped[str] = mapped_column(String(16))
    teacher: Mapped[str] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelIssue(Base):
    """An expert's flag that a badcase's gold codes are wrong, with the codes proposed instead. While open
    (and once accepted) the badcase is held out of augmentation; an engineer accepts it (a relabelled dataset
    version) or dismisses it."""

    __tablename__ = "label_issues"
    __table_args__ = (
        CheckConstraint(one_of("status", LABEL_ISSUE_STATUSES), name="status"),
        # At most one open flag per badcase, held by the database itself (two experts flagging at once).
        Index(
            "uq_label_issues_open_badcase",
            "badcase_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    badcase_id: Mapped[int] = mapped_column(ForeignKey("badcases.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    old_principal: Mapped[str] = mapped_column(String(64))  #: the gold codes when flagged
    old_others: Mapped[list[str]] = mapped_column(JSON, default=list)
    proposed_principal: Mapped[str] = mapped_column(String(64))
    proposed_others: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(Text)
    flagged_by: Mapped[str] = mapped_column(String(100))
    flagged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    #: the relabelled dataset version an acceptance made
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
