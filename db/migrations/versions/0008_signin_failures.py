"""signin_failures: failed sign-ins in a row per account name and per client, for throttling

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 19:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_failures")),
        sa.UniqueConstraint("key", name=op.f("uq_signin_failures_key")),
    )


def downgrade() -> None:
    op.drop_table("signin_failures")
