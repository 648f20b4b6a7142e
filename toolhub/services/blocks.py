"""Memory blocks: create, read, modify, delete, list. A block's value never exceeds its `limit`, and a label stays
unique among each agent's blocks, whichever route changes it (`/v1/blocks` or an agent's core memory)."""

from typing import Any

from toolhub.errors import ConflictError, InvalidInputError
from toolhub.server.listing import ListParams
from toolhub.server.schemas.blocks import BlockCreate, BlockUpdate
from toolhub.store.db import Database
from toolhub.store.models import Block as BlockRow
from toolhub.store.repositories import Actor
from toolhub.store.repositories.blocks import BlockFilters, BlockRepository

DEFAULT_BLOCK_LIMIT = 100_000
"""Letta 0.16's default (0.8's was 5,000)."""
DEFAULT_DESCRIPTIONS = {
    "persona": "The persona block: Stores details about your current persona, guiding how you behave and respond. "
    "This helps you to maintain consistency and personality in your interactions.",
    "human": "The human block: Stores key details about the person you are conversing with, allowing for more "
    "personalized and friend-like conversation.",
}
"""Letta's descriptions of its two standard labels, used when a block is made without one."""
_NOT_NULL = frozenset({"label", "value", "limit", "read_only", "is_template"})


def check_fits(label: str, value: str, limit: int) -> None:
    """Raises InvalidInputError (Letta's words, plus the label) when `value` is longer than `limit`."""
    if len(value) > limit:
        raise InvalidInputError(
            f"Edit failed: Exceeds {limit} character limit (requested {len(value)}) for block {label!r}"
        )


def new_block_columns(body: BlockCreate) -> dict[str, Any]:
    """The columns of a block made from `body`, with Letta's defaults.

    Raises:
        InvalidInputError: the value does not fit the limit.
    """
    limit = body.limit or DEFAULT_BLOCK_LIMIT
    check_fits(body.label, body.value, limit)
    return {
        "label": body.label,
        "value": body.value,
        "limit": limit,
        "description": body.description if body.description is not None else DEFAULT_DESCRIPTIONS.get(body.label),
        "read_only": bool(body.read_only),
        "metadata_": body.metadata or {},
        "hidden": body.hidden,
        "tags": body.tags or [],
        "is_template": bool(body.is_template),
        "template_name": body.template_name,
        "preserve_on_migration": body.preserve_on_migration,
    }


async def update_block(blocks: BlockRepository, row: BlockRow, body: BlockUpdate) -> BlockRow:
    """Apply the fields `body` sent (a null leaves a required field as it is).

    Raises:
        InvalidInputError: the value would not fit the limit.
        ConflictError: a new label is taken by another block of an agent this block is attached to.
    """
    sent = body.model_dump(exclude_unset=True)
    columns = {_column(key): value for key, value in sent.items() if value is not None or key not in _NOT_NULL}
    if "tags" in columns and columns["tags"] is None:
        columns["tags"] = []
    if "metadata_" in columns and columns["metadata_"] is None:
        columns["metadata_"] = {}
    label = columns.get("label", row.label)
    check_fits(label, columns.get("value", row.value), columns.get("limit", row.limit))
    if label != row.label:
        await _check_label_free(blocks, row.id, label)
    return await blocks.update(row, **columns)


def _column(field: str) -> str:
    return "metadata_" if field == "metadata" else field


async def _check_label_free(blocks: BlockRepository, block_id: str, label: str) -> None:
    beside = await blocks.labels_beside(block_id, await blocks.agent_ids(block_id))
    taken = sorted(agent_id for agent_id, labels in beside.items() if label in labels)
    if taken:
        raise ConflictError(f"Agent {taken[0]} already has a block labelled {label!r}; labels are unique per agent")


class BlockService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, actor: Actor, body: BlockCreate) -> BlockRow:
        columns = new_block_columns(body)
        async with self._db.session() as session:
            return await BlockRepository(session, actor).create(**columns)

    async def get(self, actor: Actor, block_id: str) -> BlockRow:
        async with self._db.session() as session:
            return await BlockRepository(session, actor).get(block_id)

    async def list(self, actor: Actor, filters: BlockFilters, page: ListParams) -> list[BlockRow]:
        async with self._db.session() as session:
            blocks = BlockRepository(session, actor)
            return await blocks.list(*filters.conditions(blocks.dialect), **page.cursor())

    async def count(self, actor: Actor, filters: BlockFilters) -> int:
        async with self._db.session() as session:
            return await BlockRepository(session, actor).count(filters)

    async def modify(self, actor: Actor, block_id: str, body: BlockUpdate) -> BlockRow:
        async with self._db.session() as session:
            blocks = BlockRepository(session, actor)
            return await update_block(blocks, await blocks.get(block_id), body)

    async def delete(self, actor: Actor, block_id: str) -> BlockRow:
        """Detaches the block from every agent; answers the deleted block, as Letta 0.8 does."""
        async with self._db.session() as session:
            blocks = BlockRepository(session, actor)
            row = await blocks.get(block_id)
            await blocks.delete(block_id)
            return row

