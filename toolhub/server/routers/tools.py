"""`/v1/tools`: Letta's tool CRUD, upsert, base tools and schema generation."""

import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from toolhub.server.clients import is_v1_client
from toolhub.server.deps import CurrentActor, Executor, Tools
from toolhub.server.listing import ListParams, list_params, many
from toolhub.server.routers import API_PREFIX
from toolhub.store.repositories.tools import ToolFilters
from toolhub.tools.executor import ExecutionContext, ToolOutcome
from toolhub.tools.model import (
    GenerateSchemaRequest,
    Tool,
    ToolCreate,
    ToolReturnMessage,
    ToolRunFromSource,
    ToolRunRequest,
    ToolUpdate,
)
from toolhub.tools.spec import ToolCall

router = APIRouter(prefix=f"{API_PREFIX}/tools", tags=["tools"])


@router.get("", response_model=list[Tool], operation_id="list_tools")
async def list_tools(
    actor: CurrentActor,
    tools: Tools,
    page: Annotated[ListParams, list_params(limit=50, order="desc")],
    order_by: Annotated[Literal["created_at"], Query(description="Field to sort by.")] = "created_at",
    name: Annotated[str | None, Query(description="Only the tool with this exact name.")] = None,
    names: Annotated[list[str] | None, Query(description="Only tools with any of these names (repeatable).")] = None,
    tool_ids: Annotated[list[str] | None, Query(description="Only these ids (repeatable or comma-separated).")] = None,
    search: Annotated[str | None, Query(description="Only tools whose name contains this, ignoring case.")] = None,
    tool_types: Annotated[
        list[str] | None, Query(description="Only these tool types (repeatable or comma-separated).")
    ] = None,
    exclude_tool_types: Annotated[list[str] | None, Query(description="Not these tool types (as tool_types).")] = None,
    return_only_letta_tools: Annotated[
        bool, Query(description="Only tools whose tool_type starts with 'letta_'.")
    ] = False,
) -> list[Any]:
    """Letta 1.x's tool list: newest first by default, keyset cursors, filters ANDed. A first page (no cursor)
    makes sure the base tools exist, as Letta's does."""
    filters = ToolFilters(
        name=name,
        names=tuple(names or ()),
        tool_ids=many(tool_ids),
        search=search,
        tool_types=many(tool_types),
        exclude_tool_types=many(exclude_tool_types),
        only_letta_tools=return_only_letta_tools,
    )
    return await tools.list(actor, filters, **page.cursor())


@router.get("/count", response_model=int, operation_id="count_tools")
async def count_tools(actor: CurrentActor, tools: Tools, include_base_tools: bool = False) -> int:
    """Counts what it says: all tools with `include_base_tools=true`, else only non-base tools."""
    return await tools.count(actor, include_base_tools=include_base_tools)


@router.post("/add-base-tools", response_model=list[Tool], operation_id="add_base_tools")
async def add_base_tools(actor: CurrentActor, tools: Tools) -> list[Any]:
    return await tools.add_base_tools(actor)


@router.post("/generate-schema", operation_id="generate_json_schema")
async def generate_json_schema(body: GenerateSchemaRequest, actor: CurrentActor, tools: Tools) -> dict[str, Any]:
    return dict(await tools.generate_schema(actor, body.code))


@router.post("/run", response_model=ToolReturnMessage, operation_id="run_tool_from_source")
async def run_tool_from_source(
    body: ToolRunFromSource, actor: CurrentActor, tools: Tools, executor: Executor
) -> ToolReturnMessage:
    """Run source in the server's default sandbox without storing a tool. A failing tool is a 200 with
    `status: "error"`; a request the client must fix (bad source, wrong source_type) is a 4xx; a sandbox that
    cannot run it is a 503 with `code` and `retryable`."""
    call = ToolCall(spec=await tools.spec_from_source(actor, body), args=body.args)
    outcome = await executor.execute(call, ExecutionContext(actor=actor, call_env=body.env_vars or {}))
    return _tool_return_message(outcome)


@router.post("/{tool_id}/run", response_model=ToolReturnMessage, operation_id="run_tool")
async def run_tool(
    tool_id: str, body: ToolRunRequest, actor: CurrentActor, tools: Tools, executor: Executor
) -> ToolReturnMessage:
    """Run a stored tool by id through the executor (custom tools in their sandbox, MCP tools over the bridge),
    without an agent: the same door an agent's tool call goes through."""
    call = ToolCall(spec=await tools.spec(actor, tool_id), args=body.args)
    outcome = await executor.execute(call, ExecutionContext(actor=actor, call_env=body.env_vars or {}))
    return _tool_return_message(outcome)


def _tool_return_message(outcome: ToolOutcome) -> ToolReturnMessage:
    return ToolReturnMessage(
        id=f"message-{uuid.uuid4()}",
        date=datetime.now(timezone.utc).replace(microsecond=0),
        name=outcome.name,
        tool_return=outcome.text,
        status=outcome.status,
        tool_call_id=f"call-{uuid.uuid4().hex[:24]}",
        stdout=[outcome.stdout] if outcome.stdout else [],
        stderr=[outcome.stderr] if outcome.stderr else [],
    )


@router.get("/{tool_id}", response_model=Tool, operation_id="retrieve_tool")
async def retrieve_tool(tool_id: str, actor: CurrentActor, tools: Tools) -> Any:
    return await tools.get(actor, tool_id)


@router.post("", response_model=Tool, operation_id="create_tool")
async def create_tool(request: Request, body: ToolCreate, actor: CurrentActor, tools: Tools) -> Any:
    """A name that is taken is a 409 for 0.1.x clients (Letta 0.8); 1.x clients get Letta 0.16's
    create-or-update, which keeps the tool's id."""
    if is_v1_client(request):
        return await tools.upsert(actor, body)
    return await tools.create(actor, body)


@router.put("", response_model=Tool, operation_id="upsert_tool")
async def upsert_tool(body: ToolCreate, actor: CurrentActor, tools: Tools) -> Any:
    return await tools.upsert(actor, body)


@router.patch("/{tool_id}", response_model=Tool, operation_id="modify_tool")
async def modify_tool(tool_id: str, body: ToolUpdate, actor: CurrentActor, tools: Tools) -> Any:
    return await tools.modify(actor, tool_id, body)


@router.delete("/{tool_id}", operation_id="delete_tool")
async def delete_tool(tool_id: str, actor: CurrentActor, tools: Tools) -> None:
    await tools.delete(actor, tool_id)
