"""Sandbox configurations and their environment variables.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _owned() -> list[sa.Column]:
    return [
        sa.Column(
            "organization_id", sa.String(64), sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_by_id", sa.String(64), nullable=True),
        sa.Column("last_updated_by_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "sandbox_configs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        *_owned(),
        sa.UniqueConstraint("organization_id", "type", name="uq_sandbox_configs_org_type"),
    )
    op.create_index("ix_sandbox_configs_organization_id", "sandbox_configs", ["organization_id"])
    op.create_table(
        "sandbox_env_vars",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "sandbox_config_id",
            sa.String(64),
            sa.ForeignKey("sandbox_configs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        *_owned(),
        sa.UniqueConstraint("sandbox_config_id", "key", name="uq_sandbox_env_vars_config_key"),
    )
    op.create_index("ix_sandbox_env_vars_organization_id", "sandbox_env_vars", ["organization_id"])
    op.create_index("ix_sandbox_env_vars_sandbox_config_id", "sandbox_env_vars", ["sandbox_config_id"])


def downgrade() -> None:
    op.drop_table("sandbox_env_vars")
    op.drop_table("sandbox_configs")
