"""variants.facts: a digest of the variant's clinical facts as its generator read them, so that the facts filter
does not read them again (pipeline.domain.facts.facts_digest); NULL for variants stored before, or by a generator
that does not read facts (the filter then reads them itself).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("variants") as batch:
        batch.add_column(sa.Column("facts", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("variants") as batch:
        batch.drop_column("facts")
