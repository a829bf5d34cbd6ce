"""rounds: a CHECK on status (the stages, done, abandoned); jobs: the round and stage a job ran for

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Written out, not imported from db.vocabulary: a migration keeps meaning what it meant when it was written.
_STAGES = "'identifying', 'generating', 'filtering', 'in_review', 'augmenting', 'training'"
_STATUSES = f"{_STAGES}, 'done', 'abandoned'"


def _refuse_unknown_statuses() -> None:
    """Only the code's stages have ever been written (0006 renamed the one older status, 'mined'), so a status
    outside them was written by hand; guessing what it meant could resume or hide a round, so the upgrade stops
    and says which rounds to fix."""
    odd = op.get_bind().execute(sa.text(f"SELECT number, status FROM rounds WHERE status NOT IN ({_STATUSES})")).all()
    if odd:
        listed = ", ".join(f"round {number} has {status!r}" for number, status in odd)
        raise RuntimeError(
            f"cannot add the check on rounds.status: {listed}; a status is one of {_STATUSES}. Set each of these "
            "rounds to the stage it stands at (or 'abandoned') and upgrade again."
        )


def upgrade() -> None:
    _refuse_unknown_statuses()
    with op.batch_alter_table("rounds") as batch:
        batch.create_check_constraint("status", f"status IN ({_STATUSES})")
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("round_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("stage", sa.String(length=16), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_jobs_round_id_rounds"), "rounds", ["round_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(batch.f("ix_jobs_round_id"), ["round_id"])
        batch.create_check_constraint("stage", f"stage IS NULL OR stage IN ({_STAGES})")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint(op.f("ck_jobs_stage"), type_="check")
        batch.drop_index(batch.f("ix_jobs_round_id"))
        batch.drop_constraint(batch.f("fk_jobs_round_id_rounds"), type_="foreignkey")
        batch.drop_column("stage")
        batch.drop_column("round_id")
    with op.batch_alter_table("rounds") as batch:
        batch.drop_constraint(op.f("ck_rounds_status"), type_="check")
