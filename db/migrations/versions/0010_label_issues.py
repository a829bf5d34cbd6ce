"""label_issues: experts flag wrong gold codes; a dataset version says what it was made from

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (ALTER TABLE … ADD COLUMN), never by a batch copy of `datasets`: on SQLite, dropping the
    # old copy of a parent table deletes its records through their ON DELETE CASCADE.
    op.add_column("datasets", sa.Column("provenance", sa.JSON(), nullable=True))
    op.create_table(
        "label_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("badcase_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("old_principal", sa.String(length=64), nullable=False),
        sa.Column("old_others", sa.JSON(), nullable=False),
        sa.Column("proposed_principal", sa.String(length=64), nullable=False),
        sa.Column("proposed_others", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("flagged_by", sa.String(length=100), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'accepted', 'dismissed')", name=op.f("ck_label_issues_status")),
        sa.ForeignKeyConstraint(
            ["badcase_id"], ["badcases.id"], name=op.f("fk_label_issues_badcase_id_badcases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_label_issues_dataset_id_datasets"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_issues")),
    )
    with op.batch_alter_table("label_issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_issues_badcase_id"), ["badcase_id"], unique=False)
        batch_op.create_index(
            "uq_label_issues_open_badcase",
            ["badcase_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("label_issues", schema=None) as batch_op:
        batch_op.drop_index("uq_label_issues_open_badcase")
        batch_op.drop_index(batch_op.f("ix_label_issues_badcase_id"))
    op.drop_table("label_issues")
    op.drop_column("datasets", "provenance")
