"""reviews: what each decision replaced, so undo goes back one step (replaces_id, unbests_id), and its active time;
users: each expert's board keys (review_keys)

- ``replaces_id``: this expert's earlier vote on the same variant, marked undone when this one was written;
  undoing this one makes it active again.
- ``unbests_id``: this expert's best pick on another variant of the badcase that this one took over as best;
  undoing this one gives it back.
- ``active_seconds``: the expert's active time on this decision (gaps of over a minute between their actions left
  out); earlier rows keep NULL (their ``seconds`` counted every gap).

- ``users.review_keys``: the expert's rebound board keys and auto-advance (NULL: the defaults).

Rows written before this revision have no pointers: undoing them only marks them undone, as before.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("unbests_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("active_seconds", sa.Double(), nullable=True))
        batch.create_foreign_key(batch.f("fk_reviews_replaces_id_reviews"), "reviews", ["replaces_id"], ["id"])
        batch.create_foreign_key(batch.f("fk_reviews_unbests_id_reviews"), "reviews", ["unbests_id"], ["id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("review_keys", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("review_keys")
    with op.batch_alter_table("reviews") as batch:
        batch.drop_constraint(batch.f("fk_reviews_unbests_id_reviews"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_reviews_replaces_id_reviews"), type_="foreignkey")
        batch.drop_column("active_seconds")
        batch.drop_column("unbests_id")
        batch.drop_column("replaces_id")
