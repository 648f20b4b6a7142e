"""`/v1/agents/{agent_id}/messages…`: send a message (answered whole or streamed), the message history,
editing a message, resetting the context, and a preview of the next LLM request."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from toolhub.agent.views import ASSISTANT_KWARG, ASSISTANT_TOOL, ViewOptions
from toolhub.errors import InvalidInputError
from toolhub.server.clients import is_v1_client
from toolhub.server.deps import Agents, CurrentActor, Messages
from toolhub.server.listing import ListParams, list_params
from toolhub.server.routers import API_PREFIX
from toolhub.server.schemas.agents import AgentState
from toolhub.server.schemas.runs import CancelRequest, LettaAsyncRequest, Run
from toolhub.server.schemas.messages import LettaMessage, LettaRequest, LettaResponse, MessageUpdate, ResetMessages
from toolhub.services.messages import StreamOptions

router = APIRouter(prefix=f"{API_PREFIX}/agents", tags=["messages"])

EVENT_STREAM = "text/event-stream; charset=utf-8"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _view(request: LettaRequest) -> ViewOptions:
    types = request.include_return_message_types
    return ViewOptions(
        use_assistant_message=request.use_assistant_message,
        assistant_tool=request.assistant_message_tool_name,
        assistant_kwarg=request.assistant_message_tool_kwarg,
        include_types=frozenset(types) if types is not None else None,
    )


async def _stream(
    http: Request, agent_id: str, body: LettaRequest, actor: CurrentActor, messages: Messages
) -> StreamingResponse:
    options = StreamOptions(
        view=_view(body), stream_tokens=body.stream_tokens, pings=body.include_pings and is_v1_client(http)
    )
    events = await messages.stream(actor, agent_id, body, options)
    return StreamingResponse(events, media_type=EVENT_STREAM, headers=STREAM_HEADERS)


@router.post(
    "/{agent_id}/messages",
    response_model=LettaResponse,
    operation_id="send_message",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def send_message(
    http: Request, agent_id: str, body: LettaRequest, actor: CurrentActor, messages: Messages
) -> Any:
    """Run the agent on the messages and answer with the turn's messages, stop reason and usage. A 1.x client
    may ask for the stream instead (`streaming: true`)."""
    if body.streaming:
        if not is_v1_client(http):
            raise InvalidInputError("streaming=true is only supported for SDK v1.0+ clients; use /messages/stream")
        return await _stream(http, agent_id, body, actor, messages)
    return await messages.send(actor, agent_id, body, _view(body))


@router.post(
    "/{agent_id}/messages/stream",
    operation_id="create_agent_message_stream",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def send_message_streaming(
    http: Request, agent_id: str, body: LettaRequest, actor: CurrentActor, messages: Messages
) -> StreamingResponse:
    """The turn as server-sent events: each step's messages as it is committed (or token pieces with
    `stream_tokens`), then the stop reason, the usage and `[DONE]`."""
    return await _stream(http, agent_id, body, actor, messages)


@router.post("/{agent_id}/messages/async", response_model=Run, operation_id="create_agent_message_async")
async def send_message_async(agent_id: str, body: LettaAsyncRequest, actor: CurrentActor, messages: Messages) -> Any:
    """Start the turn as a background run and answer with the run at once (status `created` while it waits for
    a worker, `running`, then `completed`, `failed` or `cancelled`). With `callback_url`, the run is POSTed there
    when it ends."""
    return await messages.send_async(actor, agent_id, body, callback_url=body.callback_url)


@router.post("/{agent_id}/messages/cancel", operation_id="cancel_agent_run")
async def cancel_runs(
    agent_id: str, actor: CurrentActor, messages: Messages, body: CancelRequest | None = None
) -> dict[str, str]:
    """Cancel the agent's active runs (or those of `run_ids`); each ends with stop reason `cancelled` and keeps
    its committed steps. Answers what happened to each run."""
    return await messages.cancel(actor, agent_id, body.run_ids if body else None)


@router.get("/{agent_id}/messages", response_model=list[LettaMessage], operation_id="list_messages")
async def list_messages(
    http: Request,
    agent_id: str,
    actor: CurrentActor,
    messages: Messages,
    page: Annotated[ListParams, list_params(limit=100, order="desc")],
    use_assistant_message: bool = True,
    assistant_message_tool_name: str = ASSISTANT_TOOL,
    assistant_message_tool_kwarg: str = ASSISTANT_KWARG,
    include_err: Annotated[bool | None, Query(description="Accepted for compatibility; errors are listed.")] = None,
    group_id: Annotated[str | None, Query(description="Accepted for compatibility (no groups here).")] = None,
    conversation_id: Annotated[str | None, Query(description="Accepted for compatibility.")] = None,
    order_by: Annotated[str | None, Query(description="Only created_at.")] = None,
) -> list[Any]:
    """The agent's messages, newest first by default; a 0.1.x client that does not ask for an order gets the
    newest page oldest first, as Letta 0.8 answered it."""
    view = ViewOptions(
        use_assistant_message=use_assistant_message,
        assistant_tool=assistant_message_tool_name,
        assistant_kwarg=assistant_message_tool_kwarg,
    )
    chronological = "order" not in http.query_params and not is_v1_client(http)
    return await messages.history(actor, agent_id, page, view, chronological=chronological)


@router.patch("/{agent_id}/messages/{message_id}", response_model=LettaMessage, operation_id="modify_message")
async def modify_message(
    agent_id: str, message_id: str, body: MessageUpdate, actor: CurrentActor, messages: Messages
) -> Any:
    return await messages.modify(actor, agent_id, message_id, body)


@router.patch("/{agent_id}/reset-messages", response_model=AgentState, operation_id="reset_messages")
async def reset_messages(
    agent_id: str,
    actor: CurrentActor,
    messages: Messages,
    agents: Agents,
    body: ResetMessages | None = None,
    add_default_initial_messages: Annotated[bool | None, Query(description="0.1.x clients send it here.")] = None,
) -> AgentState:
    """Start the agent's context afresh: every message but the system prompt leaves the context (the history
    keeps them). There are no default initial messages to add: the system prompt is all a new context needs."""
    await messages.reset(actor, agent_id)
    return await agents.state(actor, agent_id)


@router.post("/{agent_id}/messages/preview-raw-payload", operation_id="preview_raw_payload")
async def preview_raw_payload(
    agent_id: str, body: LettaRequest, actor: CurrentActor, messages: Messages
) -> dict[str, Any]:
    """The provider request the next step would send, built without calling the provider."""
    return await messages.preview(actor, agent_id, body)
