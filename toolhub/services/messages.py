"""Messages to an agent: a request becomes a run of the step loop, answered whole (`LettaResponse`) or as a
stream of events; plus the agent's message history (list, modify, reset) and a preview of the next LLM request.

Requests to one agent are serialised in this process (the second waits for the first), so two turns never
interleave their steps.
"""

import asyncio
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from toolhub.agent.llm.base import LLMClient, LLMError, LLMRequest
from toolhub.agent.llm.providers import Providers
from toolhub.agent.loop import AgentLoop, InputMessage, LoopEvent, StepCommitted, TokenDelta, TurnEnded
from toolhub.agent.prompt import BlockView
from toolhub.agent.streaming import DONE, TokenChunks, data_event, named_event
from toolhub.agent.tool_schemas import OfferedTool
from toolhub.agent.turn import AgentTool, AgentView, UsageTotals
from toolhub.agent.views import ViewOptions, assistant_text, letta_messages
from toolhub.errors import InternalError, InvalidInputError, NotFoundError, ToolhubError
from toolhub.server.listing import ListParams
from toolhub.server.schemas.messages import (
    ErrorEvent,
    LettaRequest,
    LettaResponse,
    MessageUpdate,
    Ping,
    StopReason,
    UsageStatistics,
)
from toolhub.services.agents import AgentService
from toolhub.store.db import Database
from toolhub.store.ids import new_id
from toolhub.store.models import Agent, Message, Run, utcnow
from toolhub.store.repositories import Actor
from toolhub.store.repositories.agents import AgentRepository
from toolhub.store.repositories.messages import MessageRepository, RunRepository
from toolhub.tools.executor import ToolExecutor
from toolhub.tools.spec import ToolSpec

logger = logging.getLogger("toolhub.agent")

FAILED_STOPS = frozenset({"error", "llm_api_error"})


@dataclass(frozen=True, kw_only=True)
class StreamOptions:
    view: ViewOptions
    stream_tokens: bool = False
    pings: bool = False


class MessageService:
    def __init__(self, db: Database, executor: ToolExecutor, providers: Providers, agents: AgentService) -> None:
        self._db = db
        self._providers = providers
        self._agents = agents
        self._loop = AgentLoop(db, executor)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- sending ----------------------------------------------------------------------------------------------

    async def send(self, actor: Actor, agent_id: str, request: LettaRequest, view: ViewOptions) -> LettaResponse:
        """Run the turn and answer with its messages.

        Raises:
            LLMError: the provider failed (502 with the provider's error code; the run is marked failed).
            ToolInfrastructureError: a sandbox or MCP server could not run a call (503).
        """
        inputs = _inputs(request)
        agent, client, model = await self._prepare(actor, agent_id)
        rows: list[Message] = []
        async with self._lock(agent_id):
            run = await self._start_run(actor, agent_id, request)
            ended = None
            async for event in self._events(actor, agent, client, model, inputs, run, request.max_steps, False):
                if isinstance(event, StepCommitted):
                    rows.extend(event.rows)
                elif isinstance(event, TurnEnded):
                    ended = event
        assert ended is not None
        if ended.error is not None:
            raise ended.error
        return LettaResponse(
            messages=letta_messages(rows, view),
            stop_reason=StopReason(stop_reason=ended.stop_reason),
            usage=_usage(ended.usage, run.id),
        )

    async def stream(
        self, actor: Actor, agent_id: str, request: LettaRequest, options: StreamOptions
    ) -> AsyncIterator[str]:
        """The turn as server-sent events. Problems found before the turn starts (unknown agent, bad input,
        provider not configured) raise here, before the first event, so they are ordinary HTTP errors."""
        inputs = _inputs(request)
        agent, client, model = await self._prepare(actor, agent_id)
        return self._stream(actor, agent, client, model, inputs, request, options)

    async def _stream(
        self,
        actor: Actor,
        agent: AgentView,
        client: LLMClient,
        model: str,
        inputs: Sequence[InputMessage],
        request: LettaRequest,
        options: StreamOptions,
    ) -> AsyncIterator[str]:
        async with self._lock(agent.id):
            run = await self._start_run(actor, agent.id, request)
            if options.pings:
                yield data_event(Ping(id=new_id("ping"), run_id=run.id))
            chunks = TokenChunks(run_id=run.id, stream_tool_calls=not agent.heartbeats)
            events = self._events(actor, agent, client, model, inputs, run, request.max_steps, options.stream_tokens)
            async for event in events:
                if isinstance(event, TokenDelta):
                    for chunk in chunks.chunks(event):
                        if _wanted(chunk, options.view):
                            yield data_event(chunk)
                elif isinstance(event, StepCommitted):
                    for message in chunks.unsent(letta_messages(event.rows, options.view)):
                        yield data_event(message)
                elif isinstance(event, TurnEnded):
                    yield data_event(StopReason(stop_reason=event.stop_reason))
                    if event.error is None:
                        yield data_event(_usage(event.usage, run.id))
                    else:
                        yield named_event("error", _error_event(event.error, run.id))
        yield DONE

    async def _events(
        self,
        actor: Actor,
        agent: AgentView,
        client: LLMClient,
        model: str,
        inputs: Sequence[InputMessage],
        run: Run,
        max_steps: int,
        stream_tokens: bool,
    ) -> AsyncIterator[LoopEvent]:
        """The loop's events; the run is closed with its outcome whatever happens (also when the client goes)."""
        started = time.perf_counter_ns()
        ended: TurnEnded | None = None
        try:
            async for event in self._loop.run(
                actor, agent, client, model, inputs, run_id=run.id, max_steps=max_steps, stream_tokens=stream_tokens
            ):
                if isinstance(event, TurnEnded):
                    ended = event
                yield event
        except Exception as exc:
            logger.exception("agent %s: the turn failed", agent.id)
            ended = TurnEnded("error", UsageTotals(), InternalError(f"The turn failed: {type(exc).__name__}: {exc}"))
            yield ended
        finally:
            await self._finish_run(actor, agent.id, run, ended, time.perf_counter_ns() - started)

    async def _prepare(self, actor: Actor, agent_id: str) -> tuple[AgentView, LLMClient, str]:
        agent = await self.agent_view(actor, agent_id)
        client, model = self._providers.client_for(agent.handle)
        return agent, client, model

    def _lock(self, agent_id: str) -> asyncio.Lock:
        lock = self._locks.get(agent_id)
        if lock is None:
            lock = self._locks[agent_id] = asyncio.Lock()
        return lock

    async def _start_run(self, actor: Actor, agent_id: str, request: LettaRequest) -> Run:
        run = Run(
            id=new_id("run"),
            agent_id=agent_id,
            status="running",
            background=False,
            metadata_={"run_type": "send_message"},
            request_config={
                "use_assistant_message": request.use_assistant_message,
                "assistant_message_tool_name": request.assistant_message_tool_name,
                "assistant_message_tool_kwarg": request.assistant_message_tool_kwarg,
                "include_return_message_types": request.include_return_message_types,
            },
        )
        async with self._db.session() as session:
            return await RunRepository(session, actor).add(run)

    async def _finish_run(
        self, actor: Actor, agent_id: str, run: Run, ended: TurnEnded | None, duration_ns: int
    ) -> None:
        stop_reason = ended.stop_reason if ended else "cancelled"
        usage = ended.usage if ended else UsageTotals()
        now = utcnow()
        async with self._db.session() as session:
            stored = await session.get(Run, run.id)
            if stored is not None:
                stored.status = "failed" if stop_reason in FAILED_STOPS else (
                    "cancelled" if stop_reason == "cancelled" else "completed"
                )
                stored.stop_reason = stop_reason
                stored.usage = _usage(usage, run.id).model_dump(exclude={"message_type"})
                stored.completed_at = now
                stored.total_duration_ns = duration_ns
                stored.updated_at = now
            agent = await session.get(Agent, agent_id)
            if agent is not None:
                agent.last_stop_reason = stop_reason
                agent.last_run_completion = now
                agent.last_run_duration_ms = duration_ns // 1_000_000

    # -- the agent as a turn sees it --------------------------------------------------------------------------

    async def agent_view(self, actor: Actor, agent_id: str) -> AgentView:
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            row = await agents.get(agent_id)
            blocks = await agents.blocks(agent_id)
            tools = await agents.tools(agent_id)
        secrets = await self._agents.secrets(actor, agent_id)
        metadata = row.metadata_ if isinstance(row.metadata_, dict) else {}
        sandbox = metadata.get("tool_sandbox")
        return AgentView(
            id=row.id,
            name=row.name,
            agent_type=row.agent_type,
            system=row.system,
            handle=row.model or str(row.llm_config.get("handle") or ""),
            llm_config=row.llm_config or {},
            model_settings=row.model_settings or {},
            tags=tuple(row.tags or ()),
            tool_rules=tuple(rule for rule in row.tool_rules or () if isinstance(rule, dict)),
            tools={
                tool.name: AgentTool(
                    spec=ToolSpec.from_row(tool),
                    offered=OfferedTool(
                        name=tool.name, json_schema=tool.json_schema or {}, strict_json_schema=tool.strict_json_schema
                    ),
                )
                for tool in tools
                if tool.json_schema
            },
            blocks=tuple(
                BlockView(
                    id=block.id, label=block.label, value=block.value, limit=block.limit,
                    description=block.description, read_only=block.read_only,
                )
                for block in blocks
            ),
            secrets=secrets,
            tool_sandbox=sandbox if isinstance(sandbox, str) and sandbox else None,
            timezone=row.timezone or "UTC",
        )

    # -- history ----------------------------------------------------------------------------------------------

    async def list(
        self, actor: Actor, agent_id: str, page: ListParams, view: ViewOptions, *, chronological: bool
    ) -> list[Any]:
        """One page of the agent's messages (the page `limit` counts stored messages, as Letta's). With
        `chronological`, a newest-first page is listed oldest first (Letta 0.8's answer to 0.1.x clients)."""
        async with self._db.session() as session:
            await AgentRepository(session, actor).get(agent_id)
            rows = await MessageRepository(session, actor).list(Message.agent_id == agent_id, **page.cursor())
        if chronological and page.order == "desc":
            rows.reverse()
        return letta_messages(rows, view)

    async def modify(self, actor: Actor, agent_id: str, message_id: str, body: MessageUpdate) -> Any:
        """Change a message's text; answers the message as the API shows it."""
        async with self._db.session() as session:
            messages = MessageRepository(session, actor)
            row = await messages.get(message_id)
            if row.agent_id != agent_id:
                raise NotFoundError(f"Message with id {message_id} not found")
            _apply_update(row, body)
            await messages.touch(row)
        views = letta_messages([row])
        wanted = [view for view in views if body.message_type is None or view.message_type == body.message_type]
        if not wanted:
            raise InvalidInputError(f"Message {message_id} has no {body.message_type} to update")
        return wanted[0]

    async def reset(self, actor: Actor, agent_id: str) -> None:
        """Take every message but the system message out of the model's context (they stay listed)."""
        async with self._lock(agent_id):
            async with self._db.session() as session:
                await AgentRepository(session, actor).get(agent_id)
                messages = MessageRepository(session, actor)
                in_context = await messages.in_context(agent_id)
                keep = in_context[0].id if in_context and in_context[0].role == "system" else None
                await messages.reset(agent_id, keep=keep)

    async def preview(self, actor: Actor, agent_id: str, request: LettaRequest) -> dict[str, Any]:
        """The body the next LLM call would send (OpenAI's chat-completions shape), without calling anyone."""
        agent = await self.agent_view(actor, agent_id)
        model = agent.handle.split("/", 1)[-1]
        async with self._db.session() as session:
            rows = await MessageRepository(session, actor).in_context(agent_id)
        return _payload(self._loop.preview(agent, model, rows, _inputs(request)))


def _inputs(request: LettaRequest) -> list[InputMessage]:
    return [
        InputMessage(role=m.role, content=m.text, name=m.name, otid=m.otid, sender_id=m.sender_id)
        for m in request.input_messages()
    ]


def _usage(usage: UsageTotals, run_id: str) -> UsageStatistics:
    return UsageStatistics(
        completion_tokens=usage.completion_tokens,
        prompt_tokens=usage.prompt_tokens,
        total_tokens=usage.total_tokens,
        step_count=usage.step_count,
        run_ids=[run_id],
        cached_input_tokens=usage.cached_input_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        context_tokens=usage.context_tokens,
    )


def _error_event(error: ToolhubError, run_id: str) -> ErrorEvent:
    kind = "llm_error" if isinstance(error, LLMError) else "internal_error"
    return ErrorEvent(run_id=run_id, error_type=kind, message=str(error.detail), detail=error.code)


def _wanted(message: Any, view: ViewOptions) -> bool:
    return view.include_types is None or message.message_type in view.include_types


def _apply_update(row: Message, body: MessageUpdate) -> None:
    text = body.text
    if body.message_type == "reasoning_message":
        row.reasoning = body.reasoning if body.reasoning is not None else text
        return
    if text is None:
        raise InvalidInputError("Nothing to update: send `content`")
    if row.role == "assistant" and row.tool_calls:
        calls = [dict(call) for call in row.tool_calls]
        for call in calls:
            if assistant_text(call["arguments"], "message") is not None:
                arguments = json.loads(call["arguments"])
                arguments["message"] = text
                call["arguments"] = json.dumps(arguments, ensure_ascii=False)
                row.tool_calls = calls
                return
    if row.role == "tool":
        raise InvalidInputError("Tool returns cannot be edited")
    row.content = text


def _payload(request: LLMRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {"model": request.model, "messages": list(request.messages)}
    if request.tools:
        payload["tools"] = list(request.tools)
        payload["tool_choice"] = request.tool_choice
        if request.parallel_tool_calls is not None:
            payload["parallel_tool_calls"] = request.parallel_tool_calls
    if request.temperature is not None:
        payload["temperature"] = request.temperature
    if request.max_tokens is not None:
        payload["max_completion_tokens"] = request.max_tokens
    return payload
