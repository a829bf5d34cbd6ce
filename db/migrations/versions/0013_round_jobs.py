"""rounds: a CHECK on status (the stages, done, abandoned); jobs: the round and stage a job runs, so a round's
stage jobs are found by link, not guessed from their kind

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

STATUSES = ("identifying", "generating", "filtering", "in_review", "augmenting", "training", "done", "abandoned")
STAGES = STATUSES[:6]


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.create_check_constraint("status", _in("status", STATUSES))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("round_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("stage", sa.String(length=16), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_jobs_round_id_rounds"), "rounds", ["round_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(batch.f("ix_jobs_round_id"), ["round_id"])
        batch.create_check_constraint("stage", f"stage IS NULL OR {_in('stage', STAGES)}")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint(op.f("ck_jobs_stage"), type_="check")
        batch.drop_index(batch.f("ix_jobs_round_id"))
        batch.drop_constraint(batch.f("fk_jobs_round_id_rounds"), type_="foreignkey")
        batch.drop_column("stage")
        batch.drop_column("round_id")
    with op.batch_alter_table("rounds") as batch:
        batch.drop_constraint(op.f("ck_rounds_status"), type_="check")
