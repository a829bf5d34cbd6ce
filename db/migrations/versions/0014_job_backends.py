"""jobs: the backend a job runs on (local or ray) and its id there (a Ray job's submission id)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Written out, not imported from db.vocabulary: a migration keeps meaning what it meant when it was written.
_BACKENDS = "'local', 'ray'"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        # Every job before this ran on the app's own machine.
        batch.add_column(sa.Column("backend", sa.String(length=8), nullable=False, server_default="local"))
        batch.add_column(sa.Column("backend_id", sa.String(length=100), nullable=True))
        batch.create_check_constraint("backend", f"backend IN ({_BACKENDS})")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint(op.f("ck_jobs_backend"), type_="check")
        batch.drop_column("backend_id")
        batch.drop_column("backend")
