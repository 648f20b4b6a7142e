"""Runs record the server executing them (to fail a crashed server's runs at its restart) and their callback.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("instance_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("callback_url", sa.Text, nullable=True))
        batch.add_column(sa.Column("callback_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("callback_status_code", sa.Integer, nullable=True))
        batch.add_column(sa.Column("callback_error", sa.Text, nullable=True))
    op.create_index("ix_runs_instance_id", "runs", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_runs_instance_id", "runs")
    with op.batch_alter_table("runs") as batch:
        for column in ("callback_error", "callback_status_code", "callback_sent_at", "callback_url", "instance_id"):
            batch.drop_column(column)
