"""Memory blocks on the wire: Letta's `Block` (0.1.x) / `BlockResponse` (1.x) and the create and update bodies.

Unknown body fields are ignored, as Letta ignores them on block create and update."""

from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from toolhub.store.models import Block as BlockRow

BlockLimit = Annotated[int, Field(ge=1, le=2**31 - 1)]
"""Characters a block's value may hold; the column is a 32-bit INTEGER."""
_TEMPLATE_NAME = AliasChoices("template_name", "name")
"""0.1.x calls a block's template name `name`, 1.x `template_name`."""


class Block(BaseModel):
    """A block as both SDK generations read it (`name` and `template_name` are the same value)."""

    id: str
    label: str
    value: str
    limit: int
    description: str | None = None
    read_only: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    hidden: bool | None = None
    tags: list[str] = Field(default_factory=list)
    is_template: bool = False
    template_name: str | None = None
    name: str | None = None
    preserve_on_migration: bool = False
    project_id: str | None = None
    template_id: str | None = None
    base_template_id: str | None = None
    deployment_id: str | None = None
    entity_id: str | None = None
    created_by_id: str | None = None
    last_updated_by_id: str | None = None

    @classmethod
    def from_row(cls, row: BlockRow) -> "Block":
        return cls(
            id=row.id,
            label=row.label,
            value=row.value,
            limit=row.limit,
            description=row.description,
            read_only=row.read_only,
            metadata=row.metadata_ or {},
            hidden=row.hidden,
            tags=row.tags or [],
            is_template=row.is_template,
            template_name=row.template_name,
            name=row.template_name,
            preserve_on_migration=bool(row.preserve_on_migration),
            created_by_id=row.created_by_id,
            last_updated_by_id=row.last_updated_by_id,
        )


class BlockCreate(BaseModel):
    """Body of `POST /v1/blocks/` and one item of an agent's `memory_blocks`."""

    model_config = ConfigDict(extra="ignore")

    label: str = Field(min_length=1, max_length=255)
    value: str
    limit: BlockLimit | None = None
    """Default 100,000 characters."""
    description: str | None = None
    """Default: Letta's description for the `persona` and `human` labels, else none."""
    read_only: bool | None = None
    metadata: dict[str, Any] | None = None
    hidden: bool | None = None
    tags: list[str] | None = None
    is_template: bool | None = None
    template_name: str | None = Field(default=None, max_length=255, validation_alias=_TEMPLATE_NAME)
    preserve_on_migration: bool | None = None


class BlockUpdate(BaseModel):
    """Body of `PATCH /v1/blocks/{id}` and `PATCH /v1/agents/{id}/core-memory/blocks/{label}`: only the fields
    sent change."""

    model_config = ConfigDict(extra="ignore")

    label: str | None = Field(default=None, min_length=1, max_length=255)
    value: str | None = None
    limit: BlockLimit | None = None
    description: str | None = None
    read_only: bool | None = None
    metadata: dict[str, Any] | None = None
    hidden: bool | None = None
    tags: list[str] | None = None
    is_template: bool | None = None
    template_name: str | None = Field(default=None, max_length=255, validation_alias=_TEMPLATE_NAME)
    preserve_on_migration: bool | None = None
