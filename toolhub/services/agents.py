"""Agents: create (with their blocks, tools, rules, secrets and first message), read as `AgentState`, modify,
delete; their tools (list, attach, detach, run one, approval choice) and core memory (blocks by label, attach,
detach).

Tool rules are checked when they are given (create, modify): every tool they name must be one of the agent's, and
a conditional rule needs at least one mapping (400 otherwise, naming what is wrong).

Secrets are encrypted here, with the server's key, before the repository stores them, and decrypted here when read
(`secrets` is what the step loop calls). Creating an agent never asks a provider anything: the model handle only has
to be well-formed.
"""

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from toolhub.agent.approvals import PendingApproval, request_view
from toolhub.agent.prompt import DEFAULT_SYSTEM_PROMPT, BlockView, render_system_prompt
from toolhub.errors import ConflictError, InvalidInputError, NotFoundError
from toolhub.sandbox.base import AgentSnapshot
from toolhub.server.listing import ListParams
from toolhub.server.schemas.agents import (
    ALL_RELATIONS,
    AgentCreate,
    AgentEnvironmentVariable,
    AgentState,
    AgentUpdate,
    Memory,
    Relation,
    ToolExecutionResult,
    agent_state,
)
from toolhub.server.schemas.blocks import Block, BlockUpdate
from toolhub.server.schemas.messages import ApprovalRequestMessage
from toolhub.services import agent_setup
from toolhub.services.blocks import new_block_columns, update_block
from toolhub.store.crypto import SecretBox
from toolhub.store.db import Database
from toolhub.store.ids import new_id
from toolhub.store.models import Agent as AgentRow
from toolhub.store.models import AgentSecret, Message, utcnow
from toolhub.store.models import Block as BlockRow
from toolhub.store.models import Tool as ToolRow
from toolhub.store.repositories import Actor
from toolhub.store.repositories.agents import AgentFilters, AgentRepository
from toolhub.store.repositories.blocks import BlockRepository
from toolhub.store.repositories.messages import MessageRepository
from toolhub.store.repositories.tools import ToolRepository
from toolhub.tools import registry
from toolhub.tools.executor import ExecutionContext, ToolExecutor
from toolhub.tools.rules import RuleSet, ToolRule, dump_rule
from toolhub.tools.spec import ToolCall, ToolSpec

V1_DEFAULT_AGENT_TYPE = "letta_v1_agent"
LEGACY_DEFAULT_AGENT_TYPE = "memgpt_agent"
"""Letta 0.8's loop for 0.1.x clients, whose programs expect `send_message` (Letta 0.16 gives them the 1.x loop)."""


class AgentService:
    """Agents and what hangs off them, for the routes and the step loop.

    Args:
        db: The database.
        box: Encrypts and decrypts agent secrets.
        executor: Runs an agent's tool (`run_tool`).
        default_model: The handle of agents created without a model.
        default_agent_type: The type of agents created without one, for every client; None: by SDK generation.
    """

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        executor: ToolExecutor,
        *,
        default_model: str,
        default_agent_type: str | None = None,
    ) -> None:
        self._db = db
        self._box = box
        self._executor = executor
        self._default_model = default_model
        self._default_agent_type = default_agent_type

    # -- reads ---------------------------------------------------------------------------------------------------

    async def state(
        self, actor: Actor, agent_id: str, relations: Collection[Relation] = ALL_RELATIONS
    ) -> AgentState:
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            return (await self._states(agents, [await agents.get(agent_id)], relations))[0]

    async def list_agents(
        self, actor: Actor, filters: AgentFilters, page: ListParams, relations: Collection[Relation]
    ) -> list[AgentState]:
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            rows = await agents.list(*filters.conditions(agents.dialect), **page.cursor())
            return await self._states(agents, rows, relations)

    async def count(self, actor: Actor, filters: AgentFilters) -> int:
        async with self._db.session() as session:
            return await AgentRepository(session, actor).count(filters)

    async def secrets(self, actor: Actor, agent_id: str) -> dict[str, str]:
        """The agent's secrets in clear: the environment its tools get on top of the sandbox config's.

        Raises:
            SecretKeyMismatchError: a secret was written under another server key.
        """
        async with self._db.session() as session:
            rows = (await AgentRepository(session, actor).secrets_of([agent_id]))[agent_id]
        return {row.key: self._box.decrypt(row.value, name=row.key) for row in rows}

    # -- create, modify, delete ----------------------------------------------------------------------------------

    async def create(self, actor: Actor, body: AgentCreate, *, v1_client: bool) -> AgentState:
        """Raises InvalidInputError for unknown tool names or ids, unknown block ids, a malformed model handle,
        duplicate block labels, a block value over its limit, or tool rules naming tools the agent does not get."""
        agent_type = body.agent_type or self._default_agent_type
        agent_type = agent_type or (V1_DEFAULT_AGENT_TYPE if v1_client else LEGACY_DEFAULT_AGENT_TYPE)
        include_base_tools = body.include_base_tools is not False
        include_rules = body.include_base_tool_rules
        if include_rules is None:
            include_rules = include_base_tools
        if agent_type == V1_DEFAULT_AGENT_TYPE:
            include_rules = False
        new_blocks = [new_block_columns(block) for block in body.memory_blocks or ()]
        base = agent_setup.base_tools(
            agent_type,
            include_base_tools=include_base_tools,
            include_multi_agent_tools=bool(body.include_multi_agent_tools),
        )
        columns = {
            "name": body.name or agent_setup.random_name(),
            "agent_type": agent_type,
            "system": body.system if body.system is not None else DEFAULT_SYSTEM_PROMPT,
            "description": body.description,
            "tags": list(body.tags or []),
            "metadata_": body.metadata,
            "message_buffer_autoclear": bool(body.message_buffer_autoclear),
            "timezone": body.timezone or "UTC",
            "model_settings": body.model_settings,
            "response_format": body.response_format,
            "hidden": body.hidden,
            **self._model_columns(body),
            **_embedding_columns(body),
        }
        secrets = _secret_values(body)
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            tools = await _tools_for(session, actor, base=base, names=body.tools or (), ids=body.tool_ids or ())
            shared = await _blocks_by_id(session, actor, body.block_ids or ())
            _check_unique_labels([block["label"] for block in new_blocks] + [block.label for block in shared])
            _check_rules(body.tool_rules or (), [t.name for t in tools])
            given_rules = [dump_rule(rule) for rule in body.tool_rules or ()]
            base_rules = agent_setup.base_tool_rules([t.name for t in tools], given_rules) if include_rules else []
            row = await agents.create(tool_rules=given_rules + base_rules, **columns)
            blocks = BlockRepository(session, actor)
            own = [await blocks.create(owner_agent_id=row.id, **block) for block in new_blocks]
            await agents.attach_blocks(row.id, [block.id for block in own + shared])
            await agents.attach_tools(row.id, [tool.id for tool in tools])
            await agents.replace_secrets(row.id, self._encrypted(secrets))
            await _add_system_message(session, actor, row, own + shared)
            return await self._state_of(agents, row)

    async def modify(self, actor: Actor, agent_id: str, body: AgentUpdate) -> AgentState:
        """Raises InvalidInputError as `create` does; NotFoundError for an unknown agent."""
        sent = body.model_dump(exclude_unset=True, exclude_none=True)
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            row = await agents.get(agent_id)
            columns = {key: sent[key] for key in _PLAIN_COLUMNS if key in sent}
            if "metadata" in sent:
                columns["metadata_"] = sent["metadata"]
            columns.update(self._model_update(row, body))
            if body.parallel_tool_calls is not None:
                columns.update(_parallel_columns(columns.get("llm_config", row.llm_config), row.model_settings, body))
            if body.embedding is not None or body.embedding_config is not None:
                columns.update(_embedding_columns(body))
            current = await agents.tools(agent_id)
            wanted = current
            if body.tool_ids is not None:
                wanted = await _tools_for(session, actor, base=(), names=(), ids=body.tool_ids)
                await agents.detach_tools(agent_id, {t.id for t in current} - {t.id for t in wanted})
                await agents.attach_tools(agent_id, [t.id for t in wanted])
            if "tool_rules" in sent:
                _check_rules(body.tool_rules or (), [t.name for t in wanted])
                columns["tool_rules"] = [dump_rule(rule) for rule in body.tool_rules or ()]
            if body.block_ids is not None:
                wanted_blocks = await _blocks_by_id(session, actor, body.block_ids)
                _check_unique_labels([block.label for block in wanted_blocks])
                current_blocks = await agents.blocks(agent_id)
                gone = {b.id for b in current_blocks} - {b.id for b in wanted_blocks}
                await agents.detach_blocks(agent_id, gone)
                await agents.attach_blocks(agent_id, [b.id for b in wanted_blocks])
            if body.secrets is not None or body.tool_exec_environment_variables is not None:
                await agents.replace_secrets(agent_id, self._encrypted(_secret_values(body)))
            await agents.update(row, **columns)
            return await self._state_of(agents, row)

    async def delete(self, actor: Actor, agent_id: str) -> None:
        """Deletes the agent's messages, runs, steps and secrets, and the blocks it made that no other agent has."""
        async with self._db.session() as session:
            await AgentRepository(session, actor).delete(agent_id)

    # -- tools ---------------------------------------------------------------------------------------------------

    async def list_tools(self, actor: Actor, agent_id: str, page: ListParams) -> list[ToolRow]:
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            await agents.get(agent_id)
            return await agents.list_tools(agent_id, **page.cursor())

    async def attach_tool(self, actor: Actor, agent_id: str, tool_id: str) -> AgentState:
        """Idempotent. Raises NotFoundError for an unknown agent or tool."""
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            row = await agents.get(agent_id)
            await ToolRepository(session, actor).get(tool_id)
            await agents.attach_tools(agent_id, [tool_id])
            await agents.touch(row)
            return await self._state_of(agents, row)

    async def choose_approval(
        self, actor: Actor, agent_id: str, tool_name: str, requires_approval: bool
    ) -> AgentState:
        """Whether this agent's calls of one of its tools wait for approval, over the tool's
        `default_requires_approval`; turning it off also drops the agent's `requires_approval` rules on the tool.

        Raises:
            NotFoundError: no such agent, or no tool of that name attached to it.
        """
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            row = await agents.get(agent_id)
            tool = next((t for t in await agents.tools(agent_id) if t.name == tool_name), None)
            if tool is None:
                raise NotFoundError(f"Tool {tool_name!r} is not attached to agent {agent_id}")
            await agents.choose_approval(agent_id, tool.id, requires_approval)
            rules = list(row.tool_rules or [])
            if not requires_approval:
                rules = [rule for rule in rules if not _approval_rule_on(rule, tool_name)]
            await agents.update(row, tool_rules=rules)
            return await self._state_of(agents, row)

    async def detach_tool(self, actor: Actor, agent_id: str, tool_id: str) -> AgentState:
        """Detaching a tool that is not attached changes nothing. Raises NotFoundError for an unknown agent."""
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            row = await agents.get(agent_id)
            await agents.detach_tools(agent_id, [tool_id])
            await agents.touch(row)
            return await self._state_of(agents, row)

    async def run_tool(
        self, actor: Actor, agent_id: str, tool_name: str, args: Mapping[str, Any]
    ) -> ToolExecutionResult:
        """Run one of the agent's tools through the executor, with its secrets, its sandbox choice and its memory;
        memory edits the tool returns are kept (when the block is writable and the value fits).

        Raises:
            NotFoundError: no such agent, or no tool of that name attached to it.
            ToolInfrastructureError: the sandbox or MCP server could not run the call.
        """
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            row = await agents.get(agent_id)
            tool = next((t for t in await agents.tools(agent_id) if t.name == tool_name), None)
            if tool is None:
                raise NotFoundError(f"Tool {tool_name!r} is not attached to agent {agent_id}")
            blocks = await agents.blocks(agent_id)
        metadata = row.metadata_ if isinstance(row.metadata_, dict) else {}
        sandbox = metadata.get("tool_sandbox")
        context = ExecutionContext(
            actor=actor,
            agent=AgentSnapshot(
                id=row.id, name=row.name, tags=tuple(row.tags or ()), blocks={b.label: b.value for b in blocks}
            ),
            agent_env=await self.secrets(actor, agent_id),
            sandbox=sandbox if isinstance(sandbox, str) and sandbox else None,
        )
        outcome = await self._executor.execute(ToolCall(spec=ToolSpec.from_row(tool), args=dict(args)), context)
        if outcome.memory_edits:
            await self._keep_memory_edits(actor, agent_id, outcome.memory_edits)
        return ToolExecutionResult(
            status=outcome.status,
            func_return=outcome.text,
            stdout=[outcome.stdout] if outcome.stdout else [],
            stderr=[outcome.stderr] if outcome.stderr else [],
        )

    # -- core memory ---------------------------------------------------------------------------------------------

    async def memory(self, actor: Actor, agent_id: str) -> Memory:
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            row = await agents.get(agent_id)
            blocks = await agents.blocks(agent_id)
        return Memory(agent_type=row.agent_type, blocks=[Block.from_row(block) for block in blocks])

    async def list_blocks(self, actor: Actor, agent_id: str, page: ListParams) -> list[BlockRow]:
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            await agents.get(agent_id)
            return await agents.list_blocks(agent_id, **page.cursor())

    async def block(self, actor: Actor, agent_id: str, label: str) -> BlockRow:
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            await agents.get(agent_id)
            return await agents.block_by_label(agent_id, label)

    async def modify_block(self, actor: Actor, agent_id: str, label: str, body: BlockUpdate) -> BlockRow:
        """Raises InvalidInputError when the value would exceed the limit, ConflictError for a label taken."""
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            await agents.get(agent_id)
            row = await agents.block_by_label(agent_id, label)
            return await update_block(BlockRepository(session, actor), row, body)

    async def attach_block(self, actor: Actor, agent_id: str, block_id: str) -> AgentState:
        """Idempotent. Raises NotFoundError for an unknown agent or block, ConflictError when the agent already has
        another block with that label."""
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            row = await agents.get(agent_id)
            block = await BlockRepository(session, actor).get(block_id)
            clash = [b for b in await agents.blocks(agent_id) if b.label == block.label and b.id != block.id]
            if clash:
                raise ConflictError(
                    f"Agent {agent_id} already has a block labelled {block.label!r} ({clash[0].id}); labels are "
                    "unique per agent"
                )
            await agents.attach_blocks(agent_id, [block_id])
            await agents.touch(row)
            return await self._state_of(agents, row)

    async def detach_block(self, actor: Actor, agent_id: str, block_id: str) -> AgentState:
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            row = await agents.get(agent_id)
            await agents.detach_blocks(agent_id, [block_id])
            await agents.touch(row)
            return await self._state_of(agents, row)

    async def agents_of_block(
        self, actor: Actor, block_id: str, page: ListParams, relations: Collection[Relation]
    ) -> list[AgentState]:
        """The agents `block_id` is attached to. Raises NotFoundError for an unknown block."""
        async with self._db.session() as session:
            blocks = BlockRepository(session, actor)
            await blocks.get(block_id)
            agents = AgentRepository(session, actor)
            rows = await agents.list(AgentRow.id.in_(await blocks.agent_ids(block_id)), **page.cursor())
            return await self._states(agents, rows, relations)

    # -- helpers -------------------------------------------------------------------------------------------------

    async def _state_of(self, agents: AgentRepository, row: AgentRow) -> AgentState:
        """The full AgentState of one agent, as every write answers it."""
        return (await self._states(agents, [row], ALL_RELATIONS))[0]

    async def _states(
        self, agents: AgentRepository, rows: Sequence[AgentRow], relations: Collection[Relation]
    ) -> list[AgentState]:
        """AgentStates of `rows`, loading each relationship once for all of them."""
        ids = [row.id for row in rows]
        tools = await agents.tools_of(ids) if "tools" in relations else {}
        blocks = await agents.blocks_of(ids) if "blocks" in relations else {}
        secrets = await agents.secrets_of(ids) if "secrets" in relations else {}
        message_ids = await agents.message_ids_of(ids)
        return [
            agent_state(
                row,
                tools=tools.get(row.id, ()),
                blocks=blocks.get(row.id, ()),
                secrets=[self._secret_out(secret) for secret in secrets.get(row.id, ())],
                message_ids=message_ids[row.id],
                with_tags="tags" in relations,
                pending_approval=_pending_view(row) if "pending_approval" in relations else None,
            )
            for row in rows
        ]

    def _secret_out(self, row: AgentSecret) -> AgentEnvironmentVariable:
        return AgentEnvironmentVariable(
            id=row.id,
            key=row.key,
            value=self._box.decrypt(row.value, name=row.key),
            value_enc=row.value,
            description=row.description,
            organization_id=row.organization_id,
            agent_id=row.agent_id,
            created_by_id=row.created_by_id,
            last_updated_by_id=row.last_updated_by_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def _encrypted(self, values: Mapping[str, str]) -> dict[str, str]:
        return {key: self._box.encrypt(value) for key, value in values.items()}

    def _model_columns(self, body: AgentCreate) -> dict[str, Any]:
        """`model` and `llm_config` of a new agent: from the client's `llm_config` when sent, else from the model
        handle (the server's default model when none)."""
        if body.llm_config is not None and body.model is None:
            config = _client_llm_config(body.llm_config.model_dump(), body)
        else:
            handle = body.model or self._default_model
            config = agent_setup.llm_config(
                handle, context_window=body.context_window_limit, max_tokens=body.max_tokens
            )
        columns = {"model": agent_setup.handle_of_llm_config(config), "llm_config": config}
        if body.parallel_tool_calls is not None:
            columns.update(_parallel_columns(config, body.model_settings, body))
        return columns

    def _model_update(self, row: AgentRow, body: AgentUpdate) -> dict[str, Any]:
        """A new model handle or `llm_config` replaces the config; `context_window_limit` and `max_tokens` alone
        adjust the current one."""
        current = dict(row.llm_config or {})
        if body.model is not None:
            window = body.context_window_limit or current.get("context_window")
            max_tokens = body.max_tokens or current.get("max_tokens")
            config = agent_setup.llm_config(body.model, context_window=window, max_tokens=max_tokens)
            return {"model": body.model, "llm_config": config}
        if body.llm_config is not None:
            config = _client_llm_config(body.llm_config.model_dump(), body)
            return {"model": agent_setup.handle_of_llm_config(config), "llm_config": config}
        if body.context_window_limit is None and body.max_tokens is None:
            return {}
        return {"llm_config": _client_llm_config(current, body)}

    async def _keep_memory_edits(self, actor: Actor, agent_id: str, edits: Mapping[str, str]) -> None:
        async with self._db.session() as session:
            blocks = BlockRepository(session, actor)
            for block in await AgentRepository(session, actor).blocks(agent_id):
                value = edits.get(block.label)
                if value is not None and not block.read_only and len(value) <= block.limit:
                    await blocks.update(block, value=value)


_PLAIN_COLUMNS = (
    "name",
    "system",
    "description",
    "tags",
    "message_buffer_autoclear",
    "timezone",
    "model_settings",
    "response_format",
    "hidden",
    "last_run_completion",
    "last_run_duration_ms",
    "last_stop_reason",
)
"""AgentUpdate fields stored as sent, in columns of the same name."""


def _client_llm_config(config: dict[str, Any], body: AgentCreate | AgentUpdate) -> dict[str, Any]:
    """A client's (or the current) `llm_config` with the request's `context_window_limit` and `max_tokens`."""
    if body.context_window_limit is not None:
        config["context_window"] = body.context_window_limit
    if body.max_tokens is not None:
        config["max_tokens"] = body.max_tokens
    config.setdefault("context_window", agent_setup.DEFAULT_CONTEXT_WINDOW)
    config.setdefault("handle", agent_setup.handle_of_llm_config(config))
    return config


def _parallel_columns(
    llm_config: dict[str, Any], model_settings: dict[str, Any] | None, body: AgentCreate | AgentUpdate
) -> dict[str, Any]:
    """The deprecated `parallel_tool_calls` field, kept where the loop reads it (`model_settings` first)."""
    columns: dict[str, Any] = {"llm_config": {**llm_config, "parallel_tool_calls": body.parallel_tool_calls}}
    settings = body.model_settings if body.model_settings is not None else model_settings
    if settings is not None and "parallel_tool_calls" in settings:
        columns["model_settings"] = {**settings, "parallel_tool_calls": body.parallel_tool_calls}
    return columns


def _check_rules(rules: Sequence[ToolRule], tool_names: Collection[str]) -> None:
    """Raises InvalidInputError naming every problem: tools the rules name that the agent does not have, rules that
    cannot work."""
    ruleset = RuleSet(tuple(rules))
    problems = ruleset.problems()
    missing = sorted(ruleset.tool_names() - set(tool_names))
    if missing:
        problems.insert(0, f"Tool rules name tools the agent does not have: {missing}")
    if problems:
        raise InvalidInputError("; ".join(problems))


def _approval_rule_on(rule: Any, tool_name: str) -> bool:
    return isinstance(rule, dict) and rule.get("type") == "requires_approval" and rule.get("tool_name") == tool_name


def _pending_view(row: AgentRow) -> ApprovalRequestMessage | None:
    """The agent's pending approval request, unless it has expired."""
    if not row.pending_approval:
        return None
    pending = PendingApproval.model_validate(row.pending_approval)
    return None if pending.expired(utcnow()) else request_view(pending)


def _embedding_columns(body: AgentCreate | AgentUpdate) -> dict[str, Any]:
    """`embedding` and `embedding_config` from the handle, else from the client's config; none when neither."""
    if body.embedding is not None:
        return {"embedding": body.embedding, "embedding_config": agent_setup.embedding_config(body.embedding)}
    if body.embedding_config is not None:
        config = body.embedding_config.model_dump()
        handle = agent_setup.handle_of_embedding_config(config)
        return {"embedding": handle, "embedding_config": {**config, "handle": handle}}
    return {}


def _secret_values(body: AgentCreate | AgentUpdate) -> dict[str, str]:
    """One set from both names (`secrets` wins a key sent under both); a null value is an empty string."""
    merged = {**(body.tool_exec_environment_variables or {}), **(body.secrets or {})}
    return {key: value or "" for key, value in merged.items()}


async def _tools_for(
    session: AsyncSession, actor: Actor, *, base: Sequence[str], names: Sequence[str], ids: Sequence[str]
) -> list[ToolRow]:
    """The tools to attach, in order (base tools, then by name, then by id), each once.

    Raises:
        InvalidInputError: a name or id that is no tool of the organization (all of them named).
    """
    tools = ToolRepository(session, actor)
    if base or names:
        await registry.ensure_base_tools(tools)
    by_name = {t.name: t for t in await tools.list(ToolRow.name.in_([*base, *names]))} if base or names else {}
    by_id = {t.id: t for t in await tools.list(ToolRow.id.in_(list(ids)))} if ids else {}
    missing_names = sorted(set(names) - by_name.keys())
    missing_ids = sorted(set(ids) - by_id.keys())
    problems = [f"Tools not found by name: {missing_names}"] if missing_names else []
    problems += [f"Tools not found by id: {missing_ids}"] if missing_ids else []
    if problems:
        raise InvalidInputError("; ".join(problems))
    ordered = [by_name[name] for name in (*base, *names)] + [by_id[tool_id] for tool_id in ids]
    return list({tool.id: tool for tool in ordered}.values())


async def _blocks_by_id(session: AsyncSession, actor: Actor, block_ids: Sequence[str]) -> list[BlockRow]:
    """Raises InvalidInputError naming every id that is no block of the organization."""
    found = await BlockRepository(session, actor).get_many(block_ids)
    missing = sorted(set(block_ids) - found.keys())
    if missing:
        raise InvalidInputError(f"Blocks not found by id: {missing}")
    return list({block_id: found[block_id] for block_id in block_ids}.values())


def _check_unique_labels(labels: Iterable[str]) -> None:
    duplicates = sorted(label for label, count in Counter(labels).items() if count > 1)
    if duplicates:
        raise InvalidInputError(f"Duplicate block label(s) {duplicates}: an agent's block labels must be unique")


async def _add_system_message(session: AsyncSession, actor: Actor, agent: AgentRow, blocks: Sequence[BlockRow]) -> None:
    """The agent's first in-context message: its system prompt with its memory blocks rendered in."""
    views = [
        BlockView(
            id=b.id, label=b.label, value=b.value, limit=b.limit, description=b.description, read_only=b.read_only
        )
        for b in blocks
    ]
    rules = RuleSet.parse(agent.tool_rules or ()).prompt()
    content = render_system_prompt(agent.system, views, now=utcnow(), rules=rules)
    system = Message(id=new_id("message"), agent_id=agent.id, role="system", content=content)
    await MessageRepository(session, actor).add_all([system])
