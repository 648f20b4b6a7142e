"""`/v1/runs` and `/v1/steps`: what message requests did — their status, stop reason, messages, steps and usage —
and a run's stream replayed from its start."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from toolhub.agent.views import ViewOptions
from toolhub.server.clients import is_v1_client
from toolhub.server.deps import CurrentActor, Messages, Runs
from toolhub.server.listing import KnownQueryOnly, ListParams, list_params, many
from toolhub.server.routers import API_PREFIX
from toolhub.server.routers.messages import EVENT_STREAM, STREAM_HEADERS
from toolhub.server.schemas.messages import LettaMessage, StopReasonType
from toolhub.server.schemas.runs import Run, RunUsage, Step
from toolhub.services.messages import StreamOptions
from toolhub.services.runs import RunFilters

router = APIRouter(prefix=API_PREFIX, tags=["runs"])

Many = Annotated[list[str] | None, Query(description="Repeatable or comma-separated.")]


@router.get("/runs", response_model=list[Run], operation_id="list_runs")
async def list_runs(
    actor: CurrentActor,
    runs: Runs,
    page: Annotated[ListParams, list_params(limit=50, order="desc")],
    agent_id: str | None = None,
    agent_ids: Many = None,
    statuses: Many = None,
    active: bool = False,
    background: bool | None = None,
    stop_reason: StopReasonType | None = None,
    ascending: Annotated[bool | None, Query(description="Deprecated: use order.")] = None,
    order_by: Literal["created_at"] = "created_at",
    conversation_id: Annotated[str | None, Query(description="Accepted for compatibility.")] = None,
) -> list[Any]:
    filters = RunFilters(
        agent_ids=(*many(agent_ids), *([agent_id] if agent_id else [])),
        statuses=many(statuses),
        active=active,
        background=background,
        stop_reason=stop_reason,
    )
    if ascending is not None:
        page = ListParams(after=page.after, before=page.before, limit=page.limit, order="asc" if ascending else "desc")
    return await runs.list_runs(actor, filters, page)


@router.get("/runs/active", response_model=list[Run], operation_id="list_active_runs", dependencies=[KnownQueryOnly])
async def list_active_runs(actor: CurrentActor, runs: Runs, agent_ids: Many = None) -> list[Any]:
    """Runs not ended yet (letta-client 0.1.x)."""
    page = ListParams(after=None, before=None, limit=10_000, order="asc")
    return await runs.list_runs(actor, RunFilters(agent_ids=many(agent_ids), active=True), page)


@router.get("/runs/{run_id}", response_model=Run, operation_id="retrieve_run")
async def retrieve_run(run_id: str, actor: CurrentActor, runs: Runs) -> Any:
    return await runs.get(actor, run_id)


@router.delete("/runs/{run_id}", response_model=Run, operation_id="delete_run")
async def delete_run(run_id: str, actor: CurrentActor, runs: Runs) -> Any:
    return await runs.delete(actor, run_id)


@router.get("/runs/{run_id}/messages", response_model=list[LettaMessage], operation_id="list_run_messages")
async def list_run_messages(
    run_id: str,
    actor: CurrentActor,
    runs: Runs,
    page: Annotated[ListParams, list_params(limit=100, order="asc")],
    role: Annotated[str | None, Query(description="Accepted for compatibility.")] = None,
    use_assistant_message: bool = True,
) -> list[Any]:
    return await runs.messages(actor, run_id, page, ViewOptions(use_assistant_message=use_assistant_message))


@router.get("/runs/{run_id}/steps", response_model=list[Step], operation_id="list_run_steps")
async def list_run_steps(
    run_id: str, actor: CurrentActor, runs: Runs, page: Annotated[ListParams, list_params(limit=100, order="asc")]
) -> list[Any]:
    return await runs.run_steps(actor, run_id, page)


@router.get("/runs/{run_id}/usage", response_model=RunUsage, operation_id="retrieve_run_usage")
async def retrieve_run_usage(run_id: str, actor: CurrentActor, runs: Runs) -> RunUsage:
    totals = await runs.usage(actor, run_id)
    return RunUsage(
        step_count=totals.steps,
        prompt_tokens=totals.prompt_tokens,
        completion_tokens=totals.completion_tokens,
        total_tokens=totals.total_tokens,
    )


@router.post(
    "/runs/{run_id}/stream", operation_id="retrieve_stream", responses={200: {"content": {"text/event-stream": {}}}}
)
async def stream_run(http: Request, run_id: str, actor: CurrentActor, messages: Messages) -> StreamingResponse:
    """The run's stream from its start: live while it executes, rebuilt from its stored messages after."""
    options = StreamOptions(view=ViewOptions(), pings=is_v1_client(http))
    events = await messages.replay(actor, run_id, options)
    return StreamingResponse(events, media_type=EVENT_STREAM, headers=STREAM_HEADERS)


@router.get("/steps", response_model=list[Step], operation_id="list_steps")
async def list_steps(
    actor: CurrentActor,
    runs: Runs,
    page: Annotated[ListParams, list_params(limit=50, order="desc")],
    agent_id: str | None = None,
    run_id: str | None = None,
    model: str | None = None,
) -> list[Any]:
    return await runs.steps(actor, page, agent_id=agent_id, run_id=run_id, model=model)


@router.get("/steps/{step_id}", response_model=Step, operation_id="retrieve_step")
async def retrieve_step(step_id: str, actor: CurrentActor, runs: Runs) -> Any:
    return await runs.step(actor, step_id)
