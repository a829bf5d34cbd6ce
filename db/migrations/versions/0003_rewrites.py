"""rewrites: variants and their filter verdicts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 22:41:32.438983
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("badcase_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=True),
        sa.Column("generator", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("prompt_version", sa.String(length=32), nullable=True),
        sa.Column("temperature", sa.Double(), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("edits", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("similarity", sa.Double(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('generated', 'failed')", name=op.f("ck_variants_status")),
        sa.ForeignKeyConstraint(
            ["badcase_id"], ["badcases.id"], name=op.f("fk_variants_badcase_id_badcases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_variants")),
        sa.UniqueConstraint("badcase_id", "seq", name=op.f("uq_variants_badcase_id_seq")),
    )
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_variants_badcase_id"), ["badcase_id"], unique=False)

    op.create_table(
        "variant_verdicts",
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("filter", sa.String(length=32), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["variant_id"], ["variants.id"], name=op.f("fk_variant_verdicts_variant_id_variants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("variant_id", "filter", name=op.f("pk_variant_verdicts")),
    )


def downgrade() -> None:
    op.drop_table("variant_verdicts")
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_variants_badcase_id"))

    op.drop_table("variants")
