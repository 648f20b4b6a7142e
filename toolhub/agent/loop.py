"""The step loop: one LLM call per step, the tool calls it asks for through the one door, and a commit per step.

Two loops share it:

- `memgpt_agent` / `memgpt_v2_agent` (Letta 0.8's): every answer must be a tool call; the model speaks through
  `send_message`, thinks in an inner-thoughts argument, and chains calls with `request_heartbeat` (a failed call
  always gets another step, so the model can correct it). One tool call per step.
- `letta_v1_agent` (Letta 0.16's default): plain text ends the turn; tool calls (several per answer when the
  model makes them) always continue it.

Tool rules apply on every path: only the tools they allow are offered (the one tool they leave is forced), a call
they forbid is answered with `[ToolConstraintError] …` and never runs, a terminal tool ends the turn (`tool_rule`),
and the turn goes on while `required_before_exit` tools are uncalled. A call that needs the client (approval, a
client-side tool) stops the turn (`requires_approval`); the request that answers it resumes the step
(`toolhub.agent.approvals`, `toolhub.agent.dispatch`).

Durability: a step's LLM answer is committed (with the request's input messages, on the first step) before its
tools run, and their returns are committed before the next step starts, so a crash loses at most the step in
flight. A provider that fails on the first step leaves nothing stored.

`run` is an async generator of `LoopEvent`s: committed rows for step streaming, token deltas for token
streaming, and one `TurnEnded` last.
"""

import json
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, update

from toolhub.agent import context
from toolhub.agent.approvals import (
    DENIED_REASON,
    EXPIRED,
    Answers,
    Denied,
    PendingApproval,
    PendingApprovalError,
    PendingCall,
    Returned,
    answers_for,
    denied_text,
)
from toolhub.agent.dispatch import CallContext, CallHistory, ToolResult, dispatch, may_run_together, run_all
from toolhub.agent.llm.base import LLMClient, LLMDelta, LLMError, LLMRequest, LLMResponse, ToolCallRequest
from toolhub.agent.prompt import BlockView, render_system_prompt
from toolhub.agent.tool_schemas import HEARTBEAT, THOUGHT_KEYS, client_function, llm_tools
from toolhub.agent.turn import AgentTool, AgentView, UsageTotals
from toolhub.builtin_tools.memory import MEMORY_TOOLS, Memory
from toolhub.builtin_tools.multi_agent import MULTI_AGENT_TOOLS, MultiAgentTools
from toolhub.errors import InvalidInputError, ToolhubError, ToolInfrastructureError
from toolhub.sandbox.base import AgentSnapshot
from toolhub.server.schemas.messages import ApprovalCreate, ClientTool, ToolReturnCreate
from toolhub.store.db import Database
from toolhub.store.ids import new_id
from toolhub.store.models import Agent, AgentBlock, Block, Message, Step
from toolhub.store.repositories import Actor
from toolhub.store.repositories.messages import MessageClock, MessageRepository, StepRepository
from toolhub.tools.executor import ExecutionContext, ToolExecutor
from toolhub.tools.rules import NoAllowedToolsError, RuleDecision, RuleSet
from toolhub.tools.spec import ToolCall

logger = logging.getLogger("toolhub.agent")

ASSISTANT_TOOL = "send_message"
SENT = "Sent message successfully."
HEARTBEAT_REASON = "Function called using request_heartbeat=true, returning control"
FAILED_REASON = "Function call failed, returning control"
CHILD_REASON = "Continuing: child tool rule."
CONTINUE_REASON = "Continuing: continue tool rule."
REQUIRED_REASON = "Continuing, user expects these tools: [{tools}] to be called still."

StopReason = Literal[
    "end_turn",
    "max_steps",
    "no_tool_call",
    "error",
    "llm_api_error",
    "cancelled",
    "tool_rule",
    "requires_approval",
    "approval_expired",
]


@dataclass(frozen=True)
class StepCommitted:
    """Rows a step stored that the API shows (the model's answer and the tool returns)."""

    rows: Sequence[Message]


@dataclass(frozen=True)
class TokenDelta:
    """A piece of the model's answer while it is written (token streaming); `message_id` is the row it becomes."""

    message_id: str
    step_id: str
    delta: LLMDelta


@dataclass(frozen=True)
class TurnEnded:
    stop_reason: StopReason
    usage: UsageTotals
    error: ToolhubError | None = None


LoopEvent = StepCommitted | TokenDelta | TurnEnded


@dataclass(frozen=True, kw_only=True)
class InputMessage:
    role: str
    content: str
    name: str | None = None
    otid: str | None = None
    sender_id: str | None = None


@dataclass
class _Turn:
    """The state of one request: the agent, its memory as edited so far, the context the model reads, the client
    tools it offers and the calls the rules have seen."""

    agent: AgentView
    memory: Memory
    rows: list[Message]
    system_row: Message | None
    run_id: str | None
    client_tools: Mapping[str, ClientTool] = field(default_factory=dict)
    history: CallHistory = field(default_factory=CallHistory)
    usage: UsageTotals = field(default_factory=UsageTotals)

    @property
    def available(self) -> frozenset[str]:
        return frozenset(self.agent.tools) | frozenset(self.client_tools)

    def calls(self, parallel: bool) -> CallContext:
        return CallContext(
            rules=self.agent.rules, tools=self.agent.tools, client_tools=frozenset(self.client_tools), parallel=parallel
        )


@dataclass(frozen=True)
class _After:
    """What follows a step's tool calls."""

    keep_going: bool
    stop: StopReason = "end_turn"
    reason: str | None = None
    """The heartbeat's reason (heartbeat loops), or the note every loop gets (`nudge`)."""
    nudge: bool = False
    """Tell the model why the turn goes on even in loops without heartbeats (required tools still uncalled)."""


class AgentLoop:
    """Args:
        db: The database.
        executor: The one door for tool calls.
        clock: Message times (strictly increasing).
        approval_timeout: Seconds a call may wait for the client before it expires; None: no limit.
    """

    def __init__(
        self,
        db: Database,
        executor: ToolExecutor,
        clock: MessageClock | None = None,
        *,
        approval_timeout: float | None = None,
        multi_agent: MultiAgentTools | None = None,
    ) -> None:
        self._db = db
        self._executor = executor
        self._clock = clock or MessageClock()
        self._approval_timeout = approval_timeout
        self._multi_agent = multi_agent

    async def run(
        self,
        actor: Actor,
        agent: AgentView,
        client: LLMClient,
        model: str,
        inputs: Sequence[InputMessage],
        *,
        run_id: str | None,
        max_steps: int,
        stream_tokens: bool = False,
        client_tools: Sequence[ClientTool] = (),
        answers: Sequence[ApprovalCreate | ToolReturnCreate] = (),
    ) -> AsyncIterator[LoopEvent]:
        """`inputs` (new messages) or `answers` (to the calls the agent waits on) start the turn; `client_tools`
        are offered with the agent's tools (`letta_v1_agent` only, as Letta)."""
        async with self._db.session() as session:
            rows = await MessageRepository(session, actor).in_context(agent.id)
            stored = await session.get(Agent, agent.id)
        raw = stored.pending_approval if stored is not None else None
        waiting = PendingApproval.model_validate(raw) if raw else None
        system_row = rows[0] if rows and rows[0].role == "system" else None
        offered_client_tools = list(client_tools) or (
            [ClientTool.model_validate(tool) for tool in waiting.client_tools] if waiting and answers else []
        )
        turn = _Turn(
            agent, Memory.of(agent.blocks), rows, system_row, run_id,
            client_tools={} if agent.heartbeats else {tool.name: tool for tool in offered_client_tools},
        )
        if waiting is not None or answers:
            events = await self._settle(actor, turn, waiting, answers)
            for event in events:
                yield event
            if events and isinstance(events[-1], TurnEnded):
                return
        pending = [self._row(agent.id, run_id, None, role=m.role, content=m.content, name=m.name, otid=m.otid,
                             sender_id=m.sender_id) for m in inputs]
        for _ in range(max_steps):
            step_id = new_id("step")
            message_id = new_id("message")
            try:
                decision = agent.rules.decide(turn.history.records(), turn.available)
            except NoAllowedToolsError as exc:
                yield TurnEnded("error", turn.usage, exc)
                return
            request = self._request(turn, model, pending, decision)
            started = time.perf_counter()
            try:
                if stream_tokens:
                    response = None
                    async for delta in client.stream(request):
                        if delta.final is not None:
                            response = delta.final
                        elif not agent.heartbeats or delta.tool_call_index is None:
                            yield TokenDelta(message_id, step_id, delta)
                    if response is None:
                        raise LLMError("The provider's stream ended without a complete answer")
                else:
                    response = await client.complete(request)
            except LLMError as exc:
                logger.warning("LLM call failed for agent %s: %s", agent.id, exc)
                yield TurnEnded("llm_api_error", turn.usage, exc)
                return
            llm_ms = (time.perf_counter() - started) * 1000
            turn.usage.add(response.usage)
            calls = response.tool_calls if not agent.heartbeats else response.tool_calls[:1]
            answer = self._answer_row(turn, message_id, step_id, response, calls)
            step = Step(
                id=step_id,
                agent_id=agent.id,
                run_id=run_id,
                model=response.model or model,
                provider_request_id=response.request_id,
                prompt_tokens=response.usage.prompt_tokens,
                completion_tokens=response.usage.completion_tokens,
                total_tokens=response.usage.total_tokens,
                llm_ms=llm_ms,
            )
            for row in pending:
                row.step_id = step_id
            await self._commit(actor, turn, [*pending, answer], step=step)
            pending = []
            if not calls:
                uncalled = agent.rules.uncalled_required(turn.history.records(), turn.available)
                if agent.heartbeats or not uncalled:
                    yield StepCommitted([answer])
                    yield TurnEnded("no_tool_call" if agent.heartbeats else "end_turn", turn.usage)
                    return
                await self._commit(actor, turn, [self._heartbeat_row(turn, step_id, _required(uncalled))])
                yield StepCommitted([answer])
                continue

            started = time.perf_counter()
            parallel = agent.parallel_tool_calls and may_run_together(calls, agent.tools, agent.rules)
            done = await dispatch(
                calls, turn.calls(parallel), turn.history, lambda call: self._call_tool(actor, turn, call)
            )
            if done.waiting and done.failure is None:
                tool_rows = await self._pause(actor, turn, step_id, answer, done.results, done.waiting, started)
                yield StepCommitted([answer, *tool_rows])
                yield TurnEnded("requires_approval", turn.usage)
                return
            tool_rows, after = await self._finish_step(actor, turn, step_id, done.results, done.failure, started)
            yield StepCommitted([answer, *tool_rows])
            if not after.keep_going:
                yield TurnEnded(after.stop, turn.usage, done.failure)
                return
        yield TurnEnded("max_steps", turn.usage)

    async def _settle(
        self,
        actor: Actor,
        turn: _Turn,
        waiting: PendingApproval | None,
        answers: Sequence[ApprovalCreate | ToolReturnCreate],
    ) -> list[LoopEvent]:
        """Before the first step: calls that waited too long expire; answers finish the step that waited; a request
        that answers nothing while calls wait (or answers while nothing waits) ends here. The events end with
        `TurnEnded` when the turn ends before any step."""
        if waiting is not None and waiting.expired(self._clock()):
            expired = await self._expire(actor, turn, waiting)
            if answers:
                return [StepCommitted(expired), TurnEnded("approval_expired", turn.usage)]
            return []
        if waiting is None:
            return [TurnEnded("error", turn.usage, InvalidInputError("No tool call is waiting for approval"))]
        if not answers:
            return [TurnEnded("error", turn.usage, PendingApprovalError(waiting))]
        try:
            checked = answers_for(waiting, answers)
        except InvalidInputError as exc:
            return [TurnEnded("error", turn.usage, exc)]
        tool_rows, after, failure = await self._resume(actor, turn, waiting, checked)
        if not after.keep_going:
            return [StepCommitted(tool_rows), TurnEnded(after.stop, turn.usage, failure)]
        return [StepCommitted(tool_rows)]

    def preview(
        self, agent: AgentView, model: str, rows: Sequence[Message], inputs: Sequence[InputMessage]
    ) -> LLMRequest:
        """The request the next step would send (`preview-raw-payload`)."""
        system_row = rows[0] if rows and rows[0].role == "system" else None
        turn = _Turn(agent, Memory.of(agent.blocks), list(rows), system_row, None)
        pending = [self._row(agent.id, None, None, role=m.role, content=m.content) for m in inputs]
        return self._request(turn, model, pending, agent.rules.decide([], turn.available))

    # -- one step ---------------------------------------------------------------------------------------------

    def _request(self, turn: _Turn, model: str, pending: Sequence[Message], decision: RuleDecision) -> LLMRequest:
        """The LLM request of a step: only the tools the rules allow, the one they leave forced."""
        agent = turn.agent
        now = self._clock()
        prompt = self._system_prompt(turn, now)
        messages = context.chat_messages(prompt, [*turn.rows, *pending], time=context.letta_time(now, agent.timezone))
        own = [name for name in agent.tools if name in decision.allowed and name not in turn.client_tools]
        tools = llm_tools(
            [agent.tools[name].offered for name in own],
            thoughts_key=agent.thoughts_key,
            heartbeats=agent.heartbeats,
            strict=agent.strict,
        )
        tools += [
            client_function(tool.name, tool.description, tool.parameters)
            for tool in turn.client_tools.values()
            if tool.name in decision.allowed
        ]
        if decision.forced is not None:
            choice: Any = {"type": "function", "function": {"name": decision.forced}}
        else:
            choice = "required" if agent.heartbeats or decision.must_call else "auto"
        return LLMRequest(
            model=model,
            messages=messages,
            tools=tools,
            tool_choice=choice if tools else None,
            parallel_tool_calls=agent.parallel_tool_calls if tools else None,
            temperature=agent.llm_config.get("temperature"),
            max_tokens=agent.llm_config.get("max_tokens"),
        )

    def _system_prompt(self, turn: _Turn, now: datetime) -> str:
        previous = sum(1 for row in turn.rows if row.role != "system")
        return render_system_prompt(
            turn.agent.system,
            list(turn.memory.blocks.values()),
            now=now,
            previous_messages=previous,
            rules=turn.agent.rules.prompt(),
        )

    def _answer_row(
        self, turn: _Turn, message_id: str, step_id: str, response: LLMResponse, calls: Sequence[ToolCallRequest]
    ) -> Message:
        reasoning = [response.reasoning] if response.reasoning else []
        stored_calls = []
        for call in calls:
            arguments = call.arguments or "{}"
            parsed = _arguments(arguments)
            if isinstance(parsed, dict):
                reasoning += [str(parsed[key]) for key in THOUGHT_KEYS if isinstance(parsed.get(key), str)]
            stored_calls.append({"id": call.id or new_id("call"), "name": call.name, "arguments": arguments})
        return self._row(
            turn.agent.id,
            turn.run_id,
            step_id,
            id=message_id,
            role="assistant",
            content=response.content or None,
            reasoning="\n".join(reasoning) or None,
            tool_calls=stored_calls or None,
        )

    def _return_row(self, turn: _Turn, step_id: str, result: ToolResult) -> Message:
        now = self._clock()
        wrapped = context.tool_result_text(
            success=result.status == "success", message=result.text, time=context.letta_time(now, turn.agent.timezone)
        )
        item = {
            "tool_call_id": result.call.id,
            "status": result.status,
            "tool_return": result.text,
            "stdout": _lines(result.stdout),
            "stderr": _lines(result.stderr),
        }
        return self._row(
            turn.agent.id, turn.run_id, step_id, role="tool", name=result.call.name, content=wrapped,
            tool_call_id=result.call.id, tool_returns=[item], is_err=result.status == "error", created_at=now,
        )

    def _heartbeat_row(self, turn: _Turn, step_id: str, reason: str) -> Message:
        now = self._clock()
        text = context.heartbeat_text(reason, context.letta_time(now, turn.agent.timezone))
        return self._row(turn.agent.id, turn.run_id, step_id, role="user", content=text, created_at=now)

    def _continues(self, turn: _Turn, results: Sequence[ToolResult]) -> _After:
        """Whether the loop takes another step after these results, and why (Letta's precedence: a terminal tool
        stops, then child rules, continue rules and the heartbeat go on; required tools still uncalled override a
        stop)."""
        agent = turn.agent
        rules = agent.rules
        ended = [r.call.name for r in results if r.ran and _ends_turn(rules, r.call.name)]
        if ended:
            after = _After(False, "end_turn" if set(ended) == {ASSISTANT_TOOL} else "tool_rule")
        elif not agent.heartbeats:
            after = _After(True)
        else:
            result = results[0]
            flow = rules.flow(result.call.name)
            if not result.ran or result.status == "error":
                after = _After(True, reason=result.reason or FAILED_REASON)
            elif flow == "child":
                after = _After(True, reason=CHILD_REASON)
            elif flow == "continue":
                after = _After(True, reason=CONTINUE_REASON)
            elif result.heartbeat:
                after = _After(True, reason=HEARTBEAT_REASON)
            else:
                after = _After(False)
        if not after.keep_going:
            uncalled = rules.uncalled_required(turn.history.records(), turn.available)
            if uncalled:
                return _After(True, reason=_required(uncalled), nudge=True)
        return after

    async def _finish_step(
        self,
        actor: Actor,
        turn: _Turn,
        step_id: str,
        results: Sequence[ToolResult],
        failure: ToolInfrastructureError | None,
        started: float,
        *,
        before: Sequence[Message] = (),
        resumed: bool = False,
    ) -> tuple[list[Message], _After]:
        """Store the step's returns (after `before`), the heartbeat when the loop goes on, and its tool time."""
        tool_rows = [self._return_row(turn, step_id, result) for result in results]
        after = _After(False, "error") if failure is not None else self._continues(turn, results)
        added = [*before, *tool_rows]
        if after.keep_going and after.reason is not None and (turn.agent.heartbeats or after.nudge):
            added.append(self._heartbeat_row(turn, step_id, after.reason))
        await self._commit(
            actor, turn, added, step_id=step_id, tools_ms=(time.perf_counter() - started) * 1000,
            set_pending=resumed,
        )
        return tool_rows, after

    # -- calls that wait for the client ----------------------------------------------------------------------

    async def _pause(
        self,
        actor: Actor,
        turn: _Turn,
        step_id: str,
        answer: Message,
        results: Sequence[ToolResult],
        waiting: Sequence[PendingCall],
        started: float,
    ) -> list[Message]:
        """Store what was decided of the step and what waits: the turn stops here until the client answers."""
        now = self._clock()
        requested = [call.id for call in waiting if call.kind != "held"]
        answer.requested_approval = requested
        pending = PendingApproval(
            message_id=answer.id,
            run_id=turn.run_id,
            step_id=step_id,
            requested_at=now,
            expires_at=now + timedelta(seconds=self._approval_timeout) if self._approval_timeout else None,
            calls=list(waiting),
            history=turn.history.entries(),
            client_tools=[tool.model_dump() for tool in turn.client_tools.values()],
        )
        tool_rows = [self._return_row(turn, step_id, result) for result in results]
        await self._commit(
            actor, turn, tool_rows, step_id=step_id, tools_ms=(time.perf_counter() - started) * 1000,
            set_pending=True, pending=pending, requested=(answer.id, requested),
        )
        return tool_rows

    async def _resume(
        self, actor: Actor, turn: _Turn, pending: PendingApproval, answers: Answers
    ) -> tuple[list[Message], _After, ToolInfrastructureError | None]:
        """Finish the step that waited: the client's answers, then the approved calls and those that waited
        behind them (in call order), as one step with the stopped one's id."""
        agent = turn.agent
        started = time.perf_counter()
        turn.history = CallHistory(pending.history)
        answer_row = self._row(
            agent.id, turn.run_id, pending.step_id, role="approval", approvals=answers.stored,
            approval_request_id=pending.message_id,
        )
        decided: dict[str, ToolResult] = {}
        to_run: list[ToolCallRequest] = []
        for waiting in pending.calls:
            call = ToolCallRequest(id=waiting.id, name=waiting.name, arguments=waiting.arguments)
            given = answers.by_call.get(waiting.id)
            if isinstance(given, Denied):
                decided[call.id] = ToolResult(
                    call=call, status="error", text=denied_text(given.reason), ran=False, reason=DENIED_REASON
                )
                turn.history.drop(call.id)
            elif isinstance(given, Returned):
                decided[call.id] = ToolResult(
                    call=call, status=given.status, text=given.text, stdout=given.stdout, stderr=given.stderr
                )
                turn.history.set_output(call.id, given.text)
            else:
                to_run.append(call)
        parallel = agent.parallel_tool_calls and may_run_together(to_run, agent.tools, agent.rules)
        ran, failure = await run_all(
            to_run, turn.history, lambda call: self._call_tool(actor, turn, call), parallel=parallel
        )
        decided.update((result.call.id, result) for result in ran)
        results = [decided[call.id] for call in pending.calls if call.id in decided]
        tool_rows, after = await self._finish_step(
            actor, turn, pending.step_id, results, failure, started, before=[answer_row], resumed=True
        )
        return tool_rows, after, failure

    async def _expire(self, actor: Actor, turn: _Turn, pending: PendingApproval) -> list[Message]:
        """The calls waited too long: they never run, and the model reads why."""
        seconds = pending.timeout_seconds()
        rows = [
            self._return_row(turn, pending.step_id, ToolResult(
                call=ToolCallRequest(id=call.id, name=call.name, arguments=call.arguments),
                status="error",
                text=EXPIRED.format(name=call.name, seconds=seconds),
                ran=False,
            ))
            for call in pending.calls
        ]
        await self._commit(actor, turn, rows, set_pending=True)
        return rows

    # -- tools ------------------------------------------------------------------------------------------------

    async def _call_tool(self, actor: Actor, turn: _Turn, call: ToolCallRequest) -> ToolResult:
        agent = turn.agent
        tool = agent.tools.get(call.name)
        if tool is None:
            known = ", ".join(sorted(agent.tools)) or "none"
            return _error(call, "ValueError", f"No tool named {call.name!r} is attached to this agent (tools: {known})")
        parsed = _arguments(call.arguments or "{}")
        if not isinstance(parsed, dict):
            return _error(call, "JSONDecodeError", f"Error parsing JSON for function '{call.name}' arguments: "
                          f"{call.arguments!r} is not a JSON object")
        heartbeat = _truthy(parsed.pop(HEARTBEAT, False))
        args = {key: value for key, value in parsed.items() if key not in THOUGHT_KEYS}
        if tool.spec.tool_type.startswith("letta_") and tool.spec.tool_type != "letta_builtin":
            result = await self._call_base_tool(actor, turn, call, args)
        else:
            result = await self._call_through_door(actor, turn, tool, call, args)
        result.heartbeat = heartbeat
        return result

    async def _call_through_door(
        self, actor: Actor, turn: _Turn, tool: AgentTool, call: ToolCallRequest, args: Mapping[str, Any]
    ) -> ToolResult:
        agent = turn.agent
        snapshot = AgentSnapshot(
            id=agent.id, name=agent.name, tags=agent.tags,
            blocks={label: block.value for label, block in turn.memory.blocks.items()},
        )
        outcome = await self._executor.execute(
            ToolCall(spec=tool.spec, args=args),
            ExecutionContext(actor=actor, agent=snapshot, agent_env=agent.secrets, sandbox=agent.tool_sandbox),
        )
        for label, value in outcome.memory_edits.items():
            block = turn.memory.blocks.get(label)
            if block is not None and not block.read_only and len(value) <= block.limit:
                turn.memory.write(block, value)
        return ToolResult(call=call, status=outcome.status, text=outcome.text, stdout=outcome.stdout,
                          stderr=outcome.stderr)

    async def _call_base_tool(
        self, actor: Actor, turn: _Turn, call: ToolCallRequest, args: dict[str, Any]
    ) -> ToolResult:
        name = call.name
        try:
            if name == ASSISTANT_TOOL:
                return ToolResult(call=call, status="success", text=SENT)
            if name == "conversation_search":
                return ToolResult(call=call, status="success", text=await self._search(actor, turn, **args))
            if name in MULTI_AGENT_TOOLS and self._multi_agent is not None:
                text = await self._multi_agent.call(name, actor, turn.agent.id, args)
                return ToolResult(call=call, status="success", text=text)
            function = MEMORY_TOOLS.get(name)
            if function is None:
                return _error(call, "NotImplementedError", f"{name} is not available on this server")
            returned = function(turn.memory, **args)
        except (TypeError, ValueError) as exc:
            return _error(call, type(exc).__name__, str(exc))
        return ToolResult(call=call, status="success", text="None" if returned is None else str(returned))

    async def _search(self, actor: Actor, turn: _Turn, query: str, page: int | None = 0) -> str:
        page = page or 0
        async with self._db.session() as session:
            rows, total = await MessageRepository(session, actor).search(turn.agent.id, query, page)
        if not rows:
            return "No results found."
        pages = -(-total // max(len(rows), 1))
        found = [{"timestamp": row.created_at.isoformat(), "role": row.role, "message": row.content} for row in rows]
        return f"Showing {len(rows)} of {total} results (page {page}/{pages}): {json.dumps(found, ensure_ascii=False)}"

    # -- storage ----------------------------------------------------------------------------------------------

    def _row(self, agent_id: str, run_id: str | None, step_id: str | None, **fields: Any) -> Message:
        fields.setdefault("id", new_id("message"))
        fields.setdefault("created_at", self._clock())
        fields.setdefault("is_err", False)
        return Message(agent_id=agent_id, run_id=run_id, step_id=step_id, in_context=True, **fields)

    async def _commit(
        self,
        actor: Actor,
        turn: _Turn,
        rows: Sequence[Message],
        *,
        step: Step | None = None,
        step_id: str | None = None,
        tools_ms: float | None = None,
        set_pending: bool = False,
        pending: PendingApproval | None = None,
        requested: tuple[str, list[str]] | None = None,
    ) -> None:
        """One transaction: the rows, the step (new, or its tool time), the memory edits made so far, and (with
        `set_pending`) what the agent waits on the client for — `pending`, or nothing — with the calls of the
        answer `requested` put to the client."""
        async with self._db.session() as session:
            if step is not None:
                StepRepository(session, actor).stage(step)  # written with the rows: one round trip
            elif step_id is not None and tools_ms is not None:
                await session.execute(
                    update(Step).where(Step.id == step_id).values(tools_ms=func.coalesce(Step.tools_ms, 0) + tools_ms)
                )
            await MessageRepository(session, actor).add_all(rows)
            if requested is not None:
                asked = await session.get(Message, requested[0])
                if asked is not None:
                    asked.requested_approval = requested[1]
            if set_pending:
                agent = await session.get(Agent, turn.agent.id)
                if agent is not None:
                    agent.pending_approval = pending.model_dump(mode="json") if pending is not None else None
            if turn.memory.changed:
                await self._write_memory(session, actor, turn)
        turn.rows.extend(rows)

    async def _write_memory(self, session: Any, actor: Actor, turn: _Turn) -> None:
        for label in sorted(turn.memory.changed):
            block = turn.memory.blocks[label]
            if block.id:
                stored = await session.get(Block, block.id)
                if stored is not None:
                    stored.value = block.value
                    stored.last_updated_by_id = actor.user_id
                continue
            created = Block(
                id=new_id("block"), label=label, value=block.value, limit=block.limit,
                organization_id=actor.organization_id, created_by_id=actor.user_id,
                last_updated_by_id=actor.user_id, owner_agent_id=turn.agent.id,
            )
            session.add(created)
            await session.flush()
            session.add(AgentBlock(agent_id=turn.agent.id, block_id=created.id))
            turn.memory.blocks[label] = BlockView(id=created.id, label=label, value=block.value, limit=block.limit)
        turn.memory.changed.clear()
        if turn.system_row is not None:
            stored = await session.get(Message, turn.system_row.id)
            if stored is not None:
                stored.content = self._system_prompt(turn, self._clock())


def _arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _error(call: ToolCallRequest, kind: str, message: str) -> ToolResult:
    return ToolResult(call=call, status="error", text=f"Error executing function {call.name}: {kind}: {message}")


def _lines(output: str | Sequence[str]) -> list[str]:
    if isinstance(output, str):
        return [output] if output else []
    return list(output)


def _ends_turn(rules: RuleSet, name: str) -> bool:
    return name == ASSISTANT_TOOL or rules.flow(name) == "exit"


def _required(uncalled: Sequence[str]) -> str:
    return REQUIRED_REASON.format(tools=", ".join(uncalled))
