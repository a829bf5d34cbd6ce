"""reviews: one active vote per expert per variant (a partial unique index on variant, reviewer where undone_at
IS NULL), and board_seconds (the expert's time from a badcase's board opened to its best picked)

Earlier versions let one expert hold several active decisions on one variant (two tabs, a stale page). Before
the index is created, every such group keeps its latest row and the others are marked undone (never deleted).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reviews", sa.Column("board_seconds", sa.Double(), nullable=True))
    # Portable SQL (SQLite and PostgreSQL): an active row is a duplicate when a later active row of the same
    # expert on the same variant exists; its created_at becomes its undone_at, so nothing claims a new time.
    op.execute(
        sa.text(
            "UPDATE reviews SET undone_at = COALESCE(created_at, CURRENT_TIMESTAMP) "
            "WHERE undone_at IS NULL AND EXISTS ("
            "SELECT 1 FROM reviews AS later WHERE later.variant_id = reviews.variant_id "
            "AND later.reviewer_id = reviews.reviewer_id AND later.undone_at IS NULL AND later.id > reviews.id)"
        )
    )
    op.create_index(
        "uq_reviews_active_vote",
        "reviews",
        ["variant_id", "reviewer_id"],
        unique=True,
        sqlite_where=sa.text("undone_at IS NULL"),
        postgresql_where=sa.text("undone_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_reviews_active_vote", table_name="reviews")
    with op.batch_alter_table("reviews") as batch:
        batch.drop_column("board_seconds")
