"""models: registry with lineage, reasoning traces, label-error confidence

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:27:48.816925
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subtask", sa.String(length=16), nullable=True),
        sa.Column("fold", sa.Integer(), nullable=True),
        sa.Column("round_no", sa.Integer(), nullable=True),
        sa.Column("dataset", sa.String(length=200), nullable=True),
        sa.Column("parent", sa.Text(), nullable=True),
        sa.Column("learner", sa.String(length=200), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('sft', 'grpo', 'ensemble')", name=op.f("ck_registered_models_kind")),
        sa.CheckConstraint(
            "subtask IS NULL OR subtask IN ('principal', 'other', 'multi')", name=op.f("ck_registered_models_subtask")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_registered_models_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registered_models")),
        sa.UniqueConstraint("name", name=op.f("uq_registered_models_name")),
    )
    op.create_table(
        "reasoning_traces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("subtask", sa.String(length=16), nullable=False),
        sa.Column("teacher", sa.String(length=200), nullable=False),
        sa.Column("prompt_version", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_reasoning_traces_record_id_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reasoning_traces")),
        sa.UniqueConstraint(
            "record_id",
            "subtask",
            "teacher",
            "prompt_version",
            name=op.f("uq_reasoning_traces_record_id_subtask_teacher_prompt_version"),
        ),
    )
    with op.batch_alter_table("reasoning_traces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reasoning_traces_record_id"), ["record_id"], unique=False)

    with op.batch_alter_table("badcases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label_error_confidence", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("badcases", schema=None) as batch_op:
        batch_op.drop_column("label_error_confidence")

    with op.batch_alter_table("reasoning_traces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reasoning_traces_record_id"))

    op.drop_table("reasoning_traces")
    op.drop_table("registered_models")
