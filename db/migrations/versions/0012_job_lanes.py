"""jobs: lane (cpu | gpu), the worker's host and heartbeat, so lanes queue apart and a dead worker is seen

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 23:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        # Jobs queued before lanes existed ran one at a time; they go to the cpu lane.
        batch.add_column(sa.Column("lane", sa.String(length=8), nullable=False, server_default="cpu"))
        batch.add_column(sa.Column("worker_host", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint("lane", "lane IN ('cpu', 'gpu')")
        batch.create_index(batch.f("ix_jobs_lane"), ["lane"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index(batch.f("ix_jobs_lane"))
        batch.drop_constraint(op.f("ck_jobs_lane"), type_="check")
        batch.drop_column("heartbeat_at")
        batch.drop_column("worker_host")
        batch.drop_column("lane")
