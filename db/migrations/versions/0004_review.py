"""review: reviews and selections

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 22:45:00.742055
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("badcase_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("best", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("seconds", sa.Double(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("decision IN ('approve', 'reject', 'skip')", name=op.f("ck_reviews_decision")),
        sa.CheckConstraint("score IS NULL OR (score BETWEEN 1 AND 5)", name=op.f("ck_reviews_score")),
        sa.ForeignKeyConstraint(
            ["badcase_id"], ["badcases.id"], name=op.f("fk_reviews_badcase_id_badcases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_reviews_reviewer_id_users")),
        sa.ForeignKeyConstraint(
            ["variant_id"], ["variants.id"], name=op.f("fk_reviews_variant_id_variants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_badcase_id"), ["badcase_id"], unique=False)
        batch_op.create_index("ix_reviews_reviewer_created", ["reviewer_id", "id"], unique=False)
        batch_op.create_index("ix_reviews_variant_reviewer", ["variant_id", "reviewer_id"], unique=False)

    op.create_table(
        "selections",
        sa.Column("badcase_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("method IN ('majority', 'engineer')", name=op.f("ck_selections_method")),
        sa.ForeignKeyConstraint(
            ["badcase_id"], ["badcases.id"], name=op.f("fk_selections_badcase_id_badcases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"], ["variants.id"], name=op.f("fk_selections_variant_id_variants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("badcase_id", name=op.f("pk_selections")),
    )
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_variants_badcase_id"))
        batch_op.create_index("ix_variants_badcase_passed_rank", ["badcase_id", "passed", "rank"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.drop_index("ix_variants_badcase_passed_rank")
        batch_op.create_index(batch_op.f("ix_variants_badcase_id"), ["badcase_id"], unique=False)

    op.drop_table("selections")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_variant_reviewer")
        batch_op.drop_index("ix_reviews_reviewer_created")
        batch_op.drop_index(batch_op.f("ix_reviews_badcase_id"))

    op.drop_table("reviews")
