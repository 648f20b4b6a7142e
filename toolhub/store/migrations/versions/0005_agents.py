"""Agents, memory blocks, their attachments and secrets, runs, steps and messages.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _owned() -> list[sa.Column]:
    """The columns of every organization-owned table (`OrgOwned`)."""
    return [
        sa.Column(
            "organization_id", sa.String(64), sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_by_id", sa.String(64), nullable=True),
        sa.Column("last_updated_by_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _agent_fk(nullable: bool = False) -> sa.Column:
    return sa.Column("agent_id", sa.String(64), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("agent_type", sa.String(64), nullable=False),
        sa.Column("system", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("metadata_", sa.JSON, nullable=True),
        sa.Column("tool_rules", sa.JSON, nullable=False),
        sa.Column("model", sa.String(255), nullable=True),
        sa.Column("embedding", sa.String(255), nullable=True),
        sa.Column("llm_config", sa.JSON, nullable=False),
        sa.Column("embedding_config", sa.JSON, nullable=True),
        sa.Column("model_settings", sa.JSON, nullable=True),
        sa.Column("response_format", sa.JSON, nullable=True),
        sa.Column("message_buffer_autoclear", sa.Boolean, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=True),
        sa.Column("last_stop_reason", sa.String(64), nullable=True),
        sa.Column("last_run_completion", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_duration_ms", sa.Integer, nullable=True),
        *_owned(),
    )
    op.create_index("ix_agents_organization_id", "agents", ["organization_id"])

    op.create_table(
        "blocks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("limit", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("read_only", sa.Boolean, nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=True),
        sa.Column("is_template", sa.Boolean, nullable=False),
        sa.Column("template_name", sa.String(255), nullable=True),
        sa.Column("preserve_on_migration", sa.Boolean, nullable=True),
        sa.Column("tags", sa.JSON, nullable=True),
        sa.Column("metadata_", sa.JSON, nullable=True),
        sa.Column("owner_agent_id", sa.String(64), nullable=True),
        *_owned(),
    )
    op.create_index("ix_blocks_organization_id", "blocks", ["organization_id"])
    op.create_index("ix_blocks_owner_agent_id", "blocks", ["owner_agent_id"])

    op.create_table(
        "agent_blocks",
        sa.Column("agent_id", sa.String(64), sa.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("block_id", sa.String(64), sa.ForeignKey("blocks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agent_blocks_block_id", "agent_blocks", ["block_id"])
    op.create_table(
        "agent_tools",
        sa.Column("agent_id", sa.String(64), sa.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tool_id", sa.String(64), sa.ForeignKey("tools.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agent_tools_tool_id", "agent_tools", ["tool_id"])

    op.create_table(
        "agent_secrets",
        sa.Column("id", sa.String(64), primary_key=True),
        _agent_fk(),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        *_owned(),
        sa.UniqueConstraint("agent_id", "key", name="uq_agent_secrets_agent_key"),
    )
    op.create_index("ix_agent_secrets_organization_id", "agent_secrets", ["organization_id"])
    op.create_index("ix_agent_secrets_agent_id", "agent_secrets", ["agent_id"])

    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        _agent_fk(),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("stop_reason", sa.String(64), nullable=True),
        sa.Column("background", sa.Boolean, nullable=False),
        sa.Column("metadata_", sa.JSON, nullable=True),
        sa.Column("request_config", sa.JSON, nullable=True),
        sa.Column("usage", sa.JSON, nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total_duration_ns", sa.BigInteger, nullable=True),
        *_owned(),
    )
    op.create_index("ix_runs_organization_id", "runs", ["organization_id"])
    op.create_index("ix_runs_agent_id", "runs", ["agent_id"])

    op.create_table(
        "steps",
        sa.Column("id", sa.String(64), primary_key=True),
        _agent_fk(),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=True),
        sa.Column("model", sa.String(255), nullable=True),
        sa.Column("provider_request_id", sa.String(255), nullable=True),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("total_tokens", sa.Integer, nullable=False),
        sa.Column("llm_ms", sa.Float, nullable=True),
        sa.Column("tools_ms", sa.Float, nullable=True),
        sa.Column("stop_reason", sa.String(64), nullable=True),
        *_owned(),
    )
    op.create_index("ix_steps_organization_id", "steps", ["organization_id"])
    op.create_index("ix_steps_agent_id", "steps", ["agent_id"])
    op.create_index("ix_steps_run_id", "steps", ["run_id"])

    op.create_table(
        "messages",
        sa.Column("id", sa.String(64), primary_key=True),
        _agent_fk(),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("step_id", sa.String(64), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text, nullable=True),
        sa.Column("reasoning", sa.Text, nullable=True),
        sa.Column("tool_calls", sa.JSON, nullable=True),
        sa.Column("tool_call_id", sa.String(255), nullable=True),
        sa.Column("tool_returns", sa.JSON, nullable=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("otid", sa.String(255), nullable=True),
        sa.Column("sender_id", sa.String(255), nullable=True),
        sa.Column("is_err", sa.Boolean, nullable=False),
        sa.Column("in_context", sa.Boolean, nullable=False),
        *_owned(),
    )
    op.create_index("ix_messages_organization_id", "messages", ["organization_id"])
    op.create_index("ix_messages_agent_id", "messages", ["agent_id", "created_at"])
    op.create_index("ix_messages_run_id", "messages", ["run_id"])


def downgrade() -> None:
    for table in ("messages", "steps", "runs", "agent_secrets", "agent_tools", "agent_blocks", "blocks", "agents"):
        op.drop_table(table)
