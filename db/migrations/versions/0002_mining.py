"""mining: rounds, model runs, predictions, badcases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 22:33:20.172527
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
        sa.UniqueConstraint("number", name=op.f("uq_rounds_number")),
    )
    op.create_table(
        "model_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("n_records", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("principal_accuracy", sa.Double(), nullable=True),
        sa.Column("other_f1", sa.Double(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('kfold', 'predict')", name=op.f("ck_model_runs_kind")),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_model_runs_dataset_id_datasets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_model_runs_job_id_jobs"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_model_runs_round_id_rounds"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_runs")),
    )
    with op.batch_alter_table("model_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_runs_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_model_runs_round_id"), ["round_id"], unique=False)

    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("fold", sa.Integer(), nullable=True),
        sa.Column("principal_code", sa.String(length=64), nullable=True),
        sa.Column("other_codes", sa.JSON(), nullable=False),
        sa.Column("raw_output", sa.Text(), nullable=True),
        sa.Column("parsed", sa.Boolean(), nullable=False),
        sa.Column("votes", sa.JSON(), nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_predictions_record_id_records"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["model_runs.id"], name=op.f("fk_predictions_run_id_model_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
        sa.UniqueConstraint("run_id", "record_id", name=op.f("uq_predictions_run_id_record_id")),
    )
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_predictions_record_id"), ["record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_predictions_run_id"), ["run_id"], unique=False)

    op.create_table(
        "badcases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("prediction_id", sa.Integer(), nullable=False),
        sa.Column("error_types", sa.JSON(), nullable=False),
        sa.Column("gold_principal", sa.String(length=64), nullable=False),
        sa.Column("predicted_principal", sa.String(length=64), nullable=True),
        sa.Column("missing_codes", sa.JSON(), nullable=False),
        sa.Column("extra_codes", sa.JSON(), nullable=False),
        sa.Column("other_f1", sa.Double(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'in_review', 'decided', 'settle')", name=op.f("ck_badcases_status")),
        sa.ForeignKeyConstraint(
            ["prediction_id"],
            ["predictions.id"],
            name=op.f("fk_badcases_prediction_id_predictions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_badcases_record_id_records"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_badcases_round_id_rounds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_badcases")),
        sa.UniqueConstraint("round_id", "record_id", name=op.f("uq_badcases_round_id_record_id")),
    )
    with op.batch_alter_table("badcases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_badcases_record_id"), ["record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_badcases_round_id"), ["round_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("badcases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_badcases_round_id"))
        batch_op.drop_index(batch_op.f("ix_badcases_record_id"))

    op.drop_table("badcases")
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_predictions_run_id"))
        batch_op.drop_index(batch_op.f("ix_predictions_record_id"))

    op.drop_table("predictions")
    with op.batch_alter_table("model_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_runs_round_id"))
        batch_op.drop_index(batch_op.f("ix_model_runs_dataset_id"))

    op.drop_table("model_runs")
    op.drop_table("rounds")
