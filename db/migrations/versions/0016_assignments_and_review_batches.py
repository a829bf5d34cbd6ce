"""assignments: badcases given to experts, for each expert's "assigned to me" review queue;
reviews.batch_id: the decisions of one "approve / reject the rest", undone together

An assignment narrows what an expert is shown first; it never stops anyone else from reviewing the badcase.
``batch_id`` points every review of one batch at the batch's first; rows written before stay NULL (undone one at a
time, as before).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("badcase_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["badcase_id"], ["badcases.id"], name=op.f("fk_assignments_badcase_id_badcases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_assignments_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("badcase_id", "user_id", name=op.f("uq_assignments_badcase_id_user_id")),
    )
    op.create_index(op.f("ix_assignments_badcase_id"), "assignments", ["badcase_id"])
    op.create_index(op.f("ix_assignments_user_id"), "assignments", ["user_id"])
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_reviews_batch_id_reviews"), "reviews", ["batch_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.drop_constraint(batch.f("fk_reviews_batch_id_reviews"), type_="foreignkey")
        batch.drop_column("batch_id")
    op.drop_index(op.f("ix_assignments_user_id"), table_name="assignments")
    op.drop_index(op.f("ix_assignments_badcase_id"), table_name="assignments")
    op.drop_table("assignments")
