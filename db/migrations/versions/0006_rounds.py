"""rounds: stages, mode, config and results

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 23:08:16.405829
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        # Rows of older databases get defaults; the models set these values for new rows.
        batch_op.add_column(sa.Column("mode", sa.String(length=20), nullable=False, server_default="interactive"))
        batch_op.add_column(sa.Column("config", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("results", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
    # Rounds used to stop at "mined"; in the staged model that is "generating" (mined, not yet rewritten).
    op.execute("UPDATE rounds SET status = 'generating' WHERE status = 'mined'")
    with op.batch_alter_table("selections", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_selections_method"), type_="check")
        batch_op.create_check_constraint("method", "method IN ('majority', 'engineer', 'filter')")


def downgrade() -> None:
    op.execute("DELETE FROM selections WHERE method = 'filter'")
    with op.batch_alter_table("selections", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_selections_method"), type_="check")
        batch_op.create_check_constraint("method", "method IN ('majority', 'engineer')")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_column("finished_at")
        batch_op.drop_column("results")
        batch_op.drop_column("config")
        batch_op.drop_column("mode")
