"""MCP servers added through the API.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mcp_servers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "organization_id", sa.String(64), sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("server_name", sa.String(255), nullable=False),
        sa.Column("server_type", sa.String(32), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("created_by_id", sa.String(64), nullable=True),
        sa.Column("last_updated_by_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("organization_id", "server_name", name="uq_mcp_servers_org_name"),
    )
    op.create_index("ix_mcp_servers_organization_id", "mcp_servers", ["organization_id"])


def downgrade() -> None:
    op.drop_table("mcp_servers")
