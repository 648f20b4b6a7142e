"""Tools, unique by name per organization.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tools",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "organization_id", sa.String(64), sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("tool_type", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("source_type", sa.String(32), nullable=True),
        sa.Column("source_code", sa.Text, nullable=True),
        sa.Column("json_schema", sa.JSON, nullable=True),
        sa.Column("args_json_schema", sa.JSON, nullable=True),
        sa.Column("strict_json_schema", sa.JSON, nullable=True),
        sa.Column("schema_health", sa.String(32), nullable=True),
        sa.Column("return_char_limit", sa.Integer, nullable=False),
        sa.Column("pip_requirements", sa.JSON, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("metadata_", sa.JSON, nullable=False),
        sa.Column("created_by_id", sa.String(64), nullable=True),
        sa.Column("last_updated_by_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("organization_id", "name", name="uq_tools_org_name"),
    )
    op.create_index("ix_tools_organization_id", "tools", ["organization_id"])


def downgrade() -> None:
    op.drop_table("tools")
