"""Messages to an agent: every request becomes a run of the step loop, executed as a task of its own
(`RunTasks`) and answered whole (`LettaResponse`), as a stream of events, or at once as a background run; plus
cancellation, the agent's message history (list, modify, reset) and a preview of the next LLM request.

Runs of one agent are serialised in this process (the second waits for the first), so two turns never interleave
their steps. A run records where it executes (`instance_id`): at start-up a server fails its own runs that a
crash left unfinished.
"""

import asyncio
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any


from toolhub.agent import approvals
from toolhub.agent.approvals import PendingApproval
from toolhub.agent.llm.base import LLMClient, LLMError, LLMRequest
from toolhub.agent.llm.providers import Providers
from toolhub.agent.loop import AgentLoop, InputMessage, LoopEvent, StepCommitted, TokenDelta, TurnEnded
from toolhub.agent.prompt import BlockView
from toolhub.agent.streaming import DONE, TokenChunks, data_event, named_event
from toolhub.agent.tool_schemas import OfferedTool
from toolhub.agent.turn import AgentTool, AgentView, UsageTotals
from toolhub.agent.views import ViewOptions, assistant_text, letta_messages
from toolhub.builtin_tools.multi_agent import CHAIN, DEFAULT_TIMEOUT_S as DEFAULT_REPLY_TIMEOUT_S
from toolhub.builtin_tools.multi_agent import MultiAgentError, MultiAgentTools
from toolhub.errors import InternalError, InvalidInputError, NotFoundError, ToolhubError
from toolhub.server.listing import ListParams
from toolhub.server.schemas.messages import (
    ApprovalCreate,
    ClientTool,
    CancelledEvent,
    ErrorEvent,
    LettaRequest,
    LettaResponse,
    MessageCreate,
    MessageUpdate,
    Ping,
    StopReason,
    ToolReturnCreate,
    UsageStatistics,
)
from toolhub.services.agents import AgentService
from toolhub.store.db import Database
from toolhub.store.ids import new_id
from toolhub.services.callbacks import Callbacks
from toolhub.services.run_tasks import RunTask, RunTasks
from toolhub.store.models import Agent, Message, Run, utcnow
from toolhub.store.repositories import Actor
from toolhub.store.repositories.agents import AgentFilters, AgentRepository
from toolhub.store.repositories.messages import MessageRepository, RunRepository, StepRepository
from toolhub.tools.executor import ToolExecutor
from toolhub.tools.rules import RuleSet
from toolhub.tools.spec import ToolSpec

logger = logging.getLogger("toolhub.agent")

FAILED_STOPS = frozenset({"error", "llm_api_error"})


@dataclass(frozen=True, kw_only=True)
class StreamOptions:
    view: ViewOptions
    stream_tokens: bool = False
    pings: bool = False


class MessageService:
    def __init__(
        self,
        db: Database,
        executor: ToolExecutor,
        providers: Providers,
        agents: AgentService,
        *,
        instance_id: str,
        workers: int,
        callbacks: Callbacks,
        approval_timeout: float | None = None,
        reply_timeout: float = DEFAULT_REPLY_TIMEOUT_S,
    ) -> None:
        self._db = db
        self._providers = providers
        self._agents = agents
        self._instance_id = instance_id
        self._callbacks = callbacks
        self._loop = AgentLoop(
            db, executor, approval_timeout=approval_timeout, multi_agent=MultiAgentTools(self, reply_timeout)
        )
        self.runs: RunTasks[LoopEvent] = RunTasks(workers)
        """The runs executing in this process."""
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- sending ----------------------------------------------------------------------------------------------

    async def send(self, actor: Actor, agent_id: str, request: LettaRequest, view: ViewOptions) -> LettaResponse:
        """Run the turn and answer with its messages.

        Raises:
            LLMError: the provider failed (502 with the provider's error code; the run is marked failed).
            ToolInfrastructureError: a sandbox or MCP server could not run a call (503).
        """
        run = await self._start(actor, agent_id, request, background=False)
        rows: list[Message] = []
        ended = None
        async for event in run.follow():
            if isinstance(event, StepCommitted):
                rows.extend(event.rows)
            elif isinstance(event, TurnEnded):
                ended = event
        if ended is None:
            raise InternalError(f"Run {run.run_id} ended without a stop reason")
        if ended.error is not None:
            raise ended.error
        return LettaResponse(
            messages=letta_messages(rows, view),
            stop_reason=StopReason(stop_reason=ended.stop_reason),
            usage=_usage(ended.usage, run.run_id),
        )

    async def send_async(
        self, actor: Actor, agent_id: str, request: LettaRequest, *, callback_url: str | None = None
    ) -> Run:
        """Start the turn as a background run and answer with the run at once; it waits for a free worker."""
        run = await self._start(actor, agent_id, request, background=True, callback_url=callback_url)
        return await self._run_row(actor, run.run_id)

    async def _start(
        self,
        actor: Actor,
        agent_id: str,
        request: LettaRequest,
        *,
        background: bool,
        callback_url: str | None = None,
    ) -> RunTask[LoopEvent]:
        """Check what can be checked before the turn (agent, input, provider), store the run, start its task."""
        inputs = _inputs(request)
        agent, client, model = await self._prepare(actor, agent_id)
        answers = request.approval_answers()
        approvals.check_request(agent.pending_approval, answering=bool(answers), now=utcnow())
        row = await self._create_run(actor, agent_id, request, background=background, callback_url=callback_url)
        turn = _Turn(
            actor, agent, client, model, inputs, row, request.max_steps, request.stream_tokens, background,
            client_tools=tuple(request.client_tools or ()), answers=tuple(answers),
        )
        return self.runs.start(row.id, self._events(turn))

    async def stream(
        self, actor: Actor, agent_id: str, request: LettaRequest, options: StreamOptions
    ) -> AsyncIterator[str]:
        """The turn as server-sent events. Problems found before the turn starts (unknown agent, bad input,
        provider not configured) raise here, before the first event, so they are ordinary HTTP errors."""
        run = await self._start(actor, agent_id, request, background=False)
        return self.sse(run, options)

    async def replay(self, actor: Actor, run_id: str, options: StreamOptions) -> AsyncIterator[str]:
        """A run's stream from its start: followed live while it executes here, else rebuilt from what it
        stored (its messages, then its stop reason and usage)."""
        stored = await self._run_row(actor, run_id)
        run = self.runs.get(run_id)
        if run is not None:
            return self.sse(run, options)
        async with self._db.session() as session:
            rows = await MessageRepository(session, actor).list(Message.run_id == run_id, order="asc")
        return self._stored_sse(stored, [row for row in rows if row.role in ("assistant", "tool")], options)

    async def _stored_sse(self, run: Run, rows: list[Message], options: StreamOptions) -> AsyncIterator[str]:
        for message in letta_messages(rows, options.view):
            yield data_event(message)
        if run.stop_reason is not None:
            yield data_event(StopReason(stop_reason=run.stop_reason))
            yield data_event(UsageStatistics(**(run.usage or {})))
        yield DONE

    async def sse(self, run: RunTask[LoopEvent], options: StreamOptions) -> AsyncIterator[str]:
        """Follow a run as server-sent events: pieces or whole messages, then the stop reason, the usage (or the
        error as a named event) and `[DONE]`."""
        if options.pings:
            yield data_event(Ping(id=new_id("ping"), run_id=run.run_id))
        chunks = TokenChunks(run_id=run.run_id)
        async for event in run.follow():
            if isinstance(event, TokenDelta):
                for chunk in chunks.chunks(event):
                    if _wanted(chunk, options.view):
                        yield data_event(chunk)
            elif isinstance(event, StepCommitted):
                for message in chunks.unsent(letta_messages(event.rows, options.view)):
                    yield data_event(message)
            elif isinstance(event, TurnEnded):
                yield data_event(StopReason(stop_reason=event.stop_reason))
                if event.error is not None:
                    yield named_event("error", _error_event(event.error, run.run_id))
                else:
                    yield data_event(_usage(event.usage, run.run_id))
                if event.stop_reason == "cancelled":
                    yield named_event("cancelled", CancelledEvent(message="Run was cancelled"))
        yield DONE

    async def _events(self, turn: "_Turn") -> AsyncIterator[LoopEvent]:
        """The loop's events, after the run got its worker (background runs) and its agent's lock. However the
        turn ends — stop reason, error, cancellation (also while waiting), a crash of the loop — the run is
        closed with that outcome."""
        ended: TurnEnded | None = None
        started = time.perf_counter_ns()
        slot: AbstractAsyncContextManager[None] = self.runs.slot() if turn.background else nullcontext()
        try:
            async with slot, self._lock(turn.agent.id):
                CHAIN.set((*CHAIN.get(), turn.agent.id))
                await self._mark_running(turn)
                started = time.perf_counter_ns()
                async for event in self._loop.run(
                    turn.actor, turn.agent, turn.client, turn.model, turn.inputs,
                    run_id=turn.run.id, max_steps=turn.max_steps, stream_tokens=turn.stream_tokens,
                    client_tools=turn.client_tools, answers=turn.answers,
                ):
                    if isinstance(event, TurnEnded):
                        ended = event
                    yield event
        except asyncio.CancelledError:
            ended = TurnEnded("cancelled", await self._run_usage(turn.actor, turn.run.id))
            yield ended
        except Exception as exc:
            logger.exception("agent %s: the turn failed", turn.agent.id)
            ended = TurnEnded("error", UsageTotals(), InternalError(f"The turn failed: {type(exc).__name__}: {exc}"))
            yield ended
        finally:
            await self._finish_run(turn, ended, time.perf_counter_ns() - started)

    async def _prepare(self, actor: Actor, agent_id: str) -> tuple[AgentView, LLMClient, str]:
        agent = await self.agent_view(actor, agent_id)
        client, model = self._providers.client_for(agent.handle)
        return agent, client, model

    def _lock(self, agent_id: str) -> asyncio.Lock:
        lock = self._locks.get(agent_id)
        if lock is None:
            lock = self._locks[agent_id] = asyncio.Lock()
        return lock

    async def _create_run(
        self, actor: Actor, agent_id: str, request: LettaRequest, *, background: bool, callback_url: str | None
    ) -> Run:
        run = Run(
            id=new_id("run"),
            agent_id=agent_id,
            status="created",
            background=background,
            metadata_=_run_metadata(background, self.runs),
            request_config={
                "use_assistant_message": request.use_assistant_message,
                "assistant_message_tool_name": request.assistant_message_tool_name,
                "assistant_message_tool_kwarg": request.assistant_message_tool_kwarg,
                "include_return_message_types": request.include_return_message_types,
            },
            instance_id=self._instance_id,
            callback_url=callback_url,
        )
        async with self._db.session() as session:
            return await RunRepository(session, actor).add(run)

    async def _mark_running(self, turn: "_Turn") -> None:
        async with self._db.session() as session:
            stored = await session.get(Run, turn.run.id)
            if stored is not None:
                stored.status = "running"
                stored.updated_at = utcnow()
                stored.metadata_ = {k: v for k, v in (stored.metadata_ or {}).items() if k != WAITING_KEY}

    async def _finish_run(self, turn: "_Turn", ended: TurnEnded | None, duration_ns: int) -> None:
        """Record the outcome on the run (usage summed from its stored steps, so a cancelled or failed run counts
        what it used) and on the agent, then send the run's callback, if it has one, in the background."""
        stop_reason = ended.stop_reason if ended else "cancelled"
        usage = await self._run_usage(turn.actor, turn.run.id)
        now = utcnow()
        async with self._db.session() as session:
            stored = await session.get(Run, turn.run.id)
            if stored is not None:
                stored.status = _status(stop_reason)
                stored.stop_reason = stop_reason
                stored.usage = _usage(usage, turn.run.id).model_dump(exclude={"message_type"})
                stored.completed_at = now
                stored.total_duration_ns = duration_ns
                stored.updated_at = now
                if ended is not None and ended.error is not None:
                    stored.metadata_ = {**(stored.metadata_ or {}), "error": str(ended.error.detail)}
            agent = await session.get(Agent, turn.agent.id)
            if agent is not None:
                agent.last_stop_reason = stop_reason
                agent.last_run_completion = now
                agent.last_run_duration_ms = duration_ns // 1_000_000
        if turn.run.callback_url:
            self._callbacks.send(turn.actor, turn.run.id)

    async def _run_usage(self, actor: Actor, run_id: str) -> UsageTotals:
        async with self._db.session() as session:
            totals = await StepRepository(session, actor).totals(run_id)
        return UsageTotals(
            step_count=totals.steps,
            prompt_tokens=totals.prompt_tokens,
            completion_tokens=totals.completion_tokens,
            total_tokens=totals.total_tokens,
        )

    # -- runs -------------------------------------------------------------------------------------------------

    async def _run_row(self, actor: Actor, run_id: str) -> Run:
        async with self._db.session() as session:
            return await RunRepository(session, actor).get(run_id)

    async def cancel(self, actor: Actor, agent_id: str, run_ids: Sequence[str] | None) -> dict[str, str]:
        """Cancel the agent's active runs (or those of `run_ids`): each stops at its next await — an LLM call is
        abandoned, a sandboxed tool is killed — and ends with stop reason `cancelled`, its committed steps kept.
        A run no server is executing any more (its server died) is marked cancelled at once."""
        async with self._db.session() as session:
            await AgentRepository(session, actor).get(agent_id)
            runs = await RunRepository(session, actor).active(agent_id, run_ids)
            answer: dict[str, str] = {}
            for run in runs:
                if self.runs.cancel(run.id):
                    answer[run.id] = "cancelled"
                elif run.instance_id == self._instance_id:
                    run.status, run.stop_reason, run.completed_at = "cancelled", "cancelled", utcnow()
                    answer[run.id] = "cancelled"
                else:
                    answer[run.id] = "executing on another server"
        return answer

    async def fail_unfinished_runs(self) -> int:
        """At start-up: this server's runs that a crash left `created` or `running` are failed, with a reason.
        Their committed steps stay. Answers how many there were."""
        async with self._db.session() as session:
            return await RunRepository.fail_unfinished(
                session, self._instance_id, "The server stopped while this run was in progress; its finished "
                "steps are kept."
            )

    # -- agents messaging agents (`toolhub.builtin_tools.multi_agent.AgentMessenger`) ---------------------------

    async def converse(self, actor: Actor, agent_id: str, message: str) -> list[str]:
        """Run a turn of `agent_id` on `message` and answer with its assistant messages."""
        run = await self._start(actor, agent_id, _incoming(message), background=False)
        texts: list[str] = []
        async for event in run.follow():
            if isinstance(event, StepCommitted):
                texts += [view.content for view in letta_messages(event.rows) if view.message_type == "assistant_message"]
            elif isinstance(event, TurnEnded) and event.error is not None:
                raise MultiAgentError(f"Agent {agent_id} failed to reply: {event.error.detail}")
        return texts

    async def post(self, actor: Actor, agent_id: str, message: str) -> str:
        run = await self._start(actor, agent_id, _incoming(message), background=True)
        return run.run_id

    async def agents_with_tags(self, actor: Actor, match_all: Sequence[str], match_some: Sequence[str]) -> list[str]:
        """Ids of the agents having every tag of `match_all` and at least one of `match_some`."""
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            filters = AgentFilters(tags=tuple(match_all), match_all_tags=True)
            rows = await agents.list(*filters.conditions(agents.dialect))
        return [row.id for row in rows if not match_some or set(match_some) & set(row.tags or ())]

    # -- the agent as a turn sees it --------------------------------------------------------------------------

    async def agent_view(self, actor: Actor, agent_id: str) -> AgentView:
        async with self._db.session() as session:
            agents = AgentRepository(session, actor)
            row = await agents.get(agent_id)
            blocks = await agents.blocks(agent_id)
            tools = await agents.tools(agent_id)
            choices = await agents.approval_choices(agent_id)
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
            rules=RuleSet.parse(row.tool_rules or ()),
            tools={
                tool.name: AgentTool(
                    spec=ToolSpec.from_row(tool),
                    offered=OfferedTool(
                        name=tool.name, json_schema=tool.json_schema or {}, strict_json_schema=tool.strict_json_schema
                    ),
                    requires_approval=choices.get(tool.id, bool(tool.default_requires_approval)),
                    parallel=bool(tool.enable_parallel_execution),
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
            pending_approval=PendingApproval.model_validate(row.pending_approval) if row.pending_approval else None,
        )

    # -- history ----------------------------------------------------------------------------------------------

    async def history(
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
        """Take every message but the system message out of the model's context (they stay listed); calls that
        waited for the client are dropped with them."""
        async with self._lock(agent_id):
            async with self._db.session() as session:
                agent = await AgentRepository(session, actor).get(agent_id)
                agent.pending_approval = None
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


@dataclass(frozen=True)
class _Turn:
    """Everything one run's task needs."""

    actor: Actor
    agent: AgentView
    client: LLMClient
    model: str
    inputs: Sequence[InputMessage]
    run: Run
    max_steps: int
    stream_tokens: bool
    background: bool
    client_tools: Sequence[ClientTool] = ()
    answers: Sequence[ApprovalCreate | ToolReturnCreate] = ()


WAITING_KEY = "waiting_for_worker"


def _run_metadata(background: bool, runs: RunTasks[LoopEvent]) -> dict[str, Any]:
    """Letta's run type; a background run that cannot start at once says why it waits (cleared when it runs)."""
    metadata: dict[str, Any] = {"run_type": "send_message_async" if background else "send_message"}
    if background and runs.all_busy:
        metadata[WAITING_KEY] = (
            f"All {runs.workers} background workers are busy ({runs.waiting} run(s) already waiting); this run "
            "starts when one is free (TOOLHUB_RUN_WORKERS sets how many)."
        )
    return metadata


def _status(stop_reason: str) -> str:
    if stop_reason in FAILED_STOPS:
        return "failed"
    return "cancelled" if stop_reason == "cancelled" else "completed"


def _incoming(message: str) -> LettaRequest:
    return LettaRequest(messages=[MessageCreate(role="user", content=message)])


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
