"""`/v1/tools`: Letta's tool CRUD, upsert, base tools and schema generation."""

import os
import uuid
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Query, Request

from toolhub.builtin_tools.base import base_tool_names
from toolhub.server.deps import CurrentActor, Db
from toolhub.server.routers import API_PREFIX
from toolhub.sandbox.base import ExecutionResult, ToolInvocation, merge_environment
from toolhub.sandbox.config_models import requirement_strings
from toolhub.store.repositories.tools import ToolRepository
from toolhub.tools import registry
from toolhub.tools.executor import return_text
from toolhub.tools.model import (
    DEFAULT_RETURN_CHAR_LIMIT,
    GenerateSchemaRequest,
    Tool,
    ToolCreate,
    ToolReturnMessage,
    ToolRunFromSource,
    ToolRunRequest,
    ToolUpdate,
)
from toolhub.tools.sandbox_choice import cached_sandbox, sandbox_type_for

router = APIRouter(prefix=f"{API_PREFIX}/tools", tags=["tools"])


@router.get("", response_model=list[Tool], operation_id="list_tools")
async def list_tools(
    actor: CurrentActor,
    db: Db,
    after: str | None = None,
    limit: int | None = Query(50, ge=1, le=10_000),
    name: str | None = None,
) -> list[Any]:
    async with db.session() as session:
        tools = ToolRepository(session, actor)
        if name is not None:
            found = await tools.get_by_name(name)
            return [found] if found else []
        if after is None:
            await registry.ensure_base_tools(tools)
        return await tools.list(after=after, limit=limit)


@router.get("/count", response_model=int, operation_id="count_tools")
async def count_tools(actor: CurrentActor, db: Db, include_base_tools: bool = False) -> int:
    """Counts what it says: all tools with `include_base_tools=true`, else only non-base tools."""
    async with db.session() as session:
        return await ToolRepository(session, actor).count(() if include_base_tools else base_tool_names())


@router.post("/add-base-tools", response_model=list[Tool], operation_id="add_base_tools")
async def add_base_tools(actor: CurrentActor, db: Db) -> list[Any]:
    async with db.session() as session:
        return await registry.upsert_base_tools(ToolRepository(session, actor))


@router.post("/generate-schema", operation_id="generate_json_schema")
async def generate_json_schema(body: GenerateSchemaRequest, actor: CurrentActor) -> dict[str, Any]:
    return (await registry.derive_schema_fields(body.code, caller=actor.user_id)).json_schema


@router.post("/run", response_model=ToolReturnMessage, operation_id="run_tool_from_source")
async def run_tool_from_source(body: ToolRunFromSource, request: Request, actor: CurrentActor, db: Db) -> Any:
    """Run source in the server's default sandbox without storing a tool. A failing tool is a 200 with
    `status: "error"`; only a request the client must fix (bad source, wrong source_type) is a 4xx."""
    derived = await registry.derive_schema_fields(
        body.source_code,
        caller=actor.user_id,
        source_type=body.source_type,
        json_schema=body.json_schema,
        args_json_schema=body.args_json_schema,
    )
    sandbox_type = sandbox_type_for(request.app.state.settings.sandbox)
    choice, config_env = await cached_sandbox(request.app.state.sandbox_configs, db, actor, sandbox_type)
    invocation = ToolInvocation(
        name=derived.name,
        source_code=body.source_code,
        args=body.args,
        tenant=actor.organization_id,
        json_schema=derived.json_schema,
        args_json_schema=body.args_json_schema,
        pip_requirements=requirement_strings(body.pip_requirements),
        env=merge_environment(os.environ, config_env, None, body.env_vars),
    )
    result = await request.app.state.executor.run_python(choice, invocation)
    return _tool_return_message(derived.name, result, DEFAULT_RETURN_CHAR_LIMIT)


@router.post("/{tool_id}/run", response_model=ToolReturnMessage, operation_id="run_tool")
async def run_tool(tool_id: str, body: ToolRunRequest, request: Request, actor: CurrentActor, db: Db) -> Any:
    """Run a stored tool by id through the executor (custom tools in their sandbox, MCP tools over the bridge),
    without an agent: the same door an agent's tool call goes through."""
    settings = request.app.state.settings
    async with db.session() as session:
        tool = await ToolRepository(session, actor).get(tool_id)
    sandbox_type = sandbox_type_for(settings.sandbox, None, tool.metadata_)
    choice, config_env = await cached_sandbox(request.app.state.sandbox_configs, db, actor, sandbox_type)
    env = merge_environment(os.environ, config_env, None, body.env_vars)
    result = await request.app.state.executor.run(tool, body.args, actor.organization_id, env=env, sandbox=choice)
    return _tool_return_message(tool.name, result, tool.return_char_limit)


def _tool_return_message(name: str, result: ExecutionResult, limit: int) -> ToolReturnMessage:
    return ToolReturnMessage(
        id=f"message-{uuid.uuid4()}",
        date=datetime.now(timezone.utc).replace(microsecond=0),
        name=name,
        tool_return=return_text(result.func_return, limit),
        status=result.status,
        tool_call_id=f"call-{uuid.uuid4().hex[:24]}",
        stdout=[result.stdout] if result.stdout else [],
        stderr=[result.stderr] if result.stderr else [],
    )


@router.get("/{tool_id}", response_model=Tool, operation_id="retrieve_tool")
async def retrieve_tool(tool_id: str, actor: CurrentActor, db: Db) -> Any:
    async with db.session() as session:
        return await ToolRepository(session, actor).get(tool_id)


@router.post("", response_model=Tool, operation_id="create_tool")
async def create_tool(body: ToolCreate, actor: CurrentActor, db: Db) -> Any:
    columns = await registry.columns_for_create(body, caller=actor.user_id)
    async with db.session() as session:
        return await ToolRepository(session, actor).create(**columns)


@router.put("", response_model=Tool, operation_id="upsert_tool")
async def upsert_tool(body: ToolCreate, actor: CurrentActor, db: Db) -> Any:
    columns = await registry.columns_for_create(body, caller=actor.user_id)
    async with db.session() as session:
        return await ToolRepository(session, actor).upsert(**columns)


@router.patch("/{tool_id}", response_model=Tool, operation_id="modify_tool")
async def modify_tool(tool_id: str, body: ToolUpdate, actor: CurrentActor, db: Db) -> Any:
    async with db.session() as session:
        current = await ToolRepository(session, actor).get(tool_id)
    columns = await registry.columns_for_update(current, body, caller=actor.user_id)
    async with db.session() as session:
        tools = ToolRepository(session, actor)
        return await tools.update(await tools.get(tool_id), **columns)


@router.delete("/{tool_id}", operation_id="delete_tool")
async def delete_tool(tool_id: str, actor: CurrentActor, db: Db) -> None:
    async with db.session() as session:
        await ToolRepository(session, actor).delete(tool_id)
