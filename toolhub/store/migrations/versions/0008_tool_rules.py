"""Tool-call control: tools' approval and parallel flags, per-agent approval overrides, the calls an agent waits on,
and the approval parts of messages.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tools") as batch:
        batch.add_column(sa.Column("default_requires_approval", sa.Boolean, nullable=True))
        batch.add_column(sa.Column("enable_parallel_execution", sa.Boolean, nullable=True))
    with op.batch_alter_table("agent_tools") as batch:
        batch.add_column(sa.Column("requires_approval", sa.Boolean, nullable=True))
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("pending_approval", sa.JSON, nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("requested_approval", sa.JSON, nullable=True))
        batch.add_column(sa.Column("approvals", sa.JSON, nullable=True))
        batch.add_column(sa.Column("approval_request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        for column in ("approval_request_id", "approvals", "requested_approval"):
            batch.drop_column(column)
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("pending_approval")
    with op.batch_alter_table("agent_tools") as batch:
        batch.drop_column("requires_approval")
    with op.batch_alter_table("tools") as batch:
        for column in ("enable_parallel_execution", "default_requires_approval"):
            batch.drop_column(column)
