"""The step loop: one LLM call per step, the tool calls it asks for through the one door, and a commit per step.

Two loops share it:

- `memgpt_agent` / `memgpt_v2_agent` (Letta 0.8's): every answer must be a tool call; the model speaks through
  `send_message`, thinks in an inner-thoughts argument, and chains calls with `request_heartbeat` (a failed call
  always gets another step, so the model can correct it). One tool call per step.
- `letta_v1_agent` (Letta 0.16's default): plain text ends the turn; tool calls (several per answer when the
  model makes them) always continue it.

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
from datetime import datetime
from typing import Any, Literal

from toolhub.agent import context
from toolhub.agent.llm.base import LLMClient, LLMDelta, LLMError, LLMRequest, LLMResponse, ToolCallRequest
from toolhub.agent.prompt import BlockView, render_system_prompt
from toolhub.agent.tool_schemas import HEARTBEAT, THOUGHT_KEYS, llm_tools
from toolhub.agent.turn import AgentTool, AgentView, UsageTotals
from toolhub.builtin_tools.memory import MEMORY_TOOLS, Memory
from toolhub.errors import ToolhubError, ToolInfrastructureError
from toolhub.sandbox.base import AgentSnapshot
from toolhub.store.db import Database
from toolhub.store.ids import new_id
from toolhub.store.models import AgentBlock, Block, Message, Step
from toolhub.store.repositories import Actor
from toolhub.store.repositories.messages import MessageClock, MessageRepository, StepRepository
from toolhub.tools.executor import ExecutionContext, ToolExecutor
from toolhub.tools.spec import ToolCall

logger = logging.getLogger("toolhub.agent")

ASSISTANT_TOOL = "send_message"
SENT = "Sent message successfully."
HEARTBEAT_REASON = "Function called using request_heartbeat=true, returning control"
FAILED_REASON = "Function call failed, returning control"

StopReason = Literal["end_turn", "max_steps", "no_tool_call", "error", "llm_api_error", "cancelled"]


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


@dataclass(kw_only=True)
class _ToolResult:
    call: ToolCallRequest
    status: Literal["success", "error"]
    text: str
    stdout: str = ""
    stderr: str = ""
    heartbeat: bool = False


@dataclass
class _Turn:
    """The state of one request: the agent, its memory as edited so far, the context the model reads."""

    agent: AgentView
    memory: Memory
    rows: list[Message]
    system_row: Message | None
    run_id: str | None
    usage: UsageTotals = field(default_factory=UsageTotals)


class AgentLoop:
    def __init__(self, db: Database, executor: ToolExecutor, clock: MessageClock | None = None) -> None:
        self._db = db
        self._executor = executor
        self._clock = clock or MessageClock()

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
    ) -> AsyncIterator[LoopEvent]:
        async with self._db.session() as session:
            rows = await MessageRepository(session, actor).in_context(agent.id)
        system_row = rows[0] if rows and rows[0].role == "system" else None
        turn = _Turn(agent, Memory.of(agent.blocks), rows, system_row, run_id)
        pending = [self._row(agent.id, run_id, None, role=m.role, content=m.content, name=m.name, otid=m.otid,
                             sender_id=m.sender_id) for m in inputs]
        for _ in range(max_steps):
            step_id = new_id("step")
            message_id = new_id("message")
            request = self._request(turn, model, pending)
            started = time.perf_counter()
            try:
                if stream_tokens:
                    response = None
                    async for delta in client.stream(request):
                        if delta.final is not None:
                            response = delta.final
                        else:
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
                yield StepCommitted([answer])
                yield TurnEnded("no_tool_call" if agent.heartbeats else "end_turn", turn.usage)
                return

            started = time.perf_counter()
            results: list[_ToolResult] = []
            failure: ToolInfrastructureError | None = None
            for call in calls:
                try:
                    results.append(await self._call_tool(actor, turn, call))
                except ToolInfrastructureError as exc:
                    failure = exc
                    results.append(_ToolResult(call=call, status="error", text=f"Error: {exc.detail}"))
                    break
            tool_rows = [self._return_row(turn, step_id, result) for result in results]
            keep_going, reason = (False, None) if failure else self._continues(agent, results)
            added = list(tool_rows)
            if keep_going and agent.heartbeats and reason is not None:
                now = self._clock()
                added.append(self._row(agent.id, run_id, step_id, role="user", content=context.heartbeat_text(
                    reason, context.letta_time(now, agent.timezone)), created_at=now))
            await self._commit(actor, turn, added, step_id=step_id, tools_ms=(time.perf_counter() - started) * 1000)
            yield StepCommitted([answer, *tool_rows])
            if failure is not None:
                yield TurnEnded("error", turn.usage, failure)
                return
            if not keep_going:
                yield TurnEnded("end_turn", turn.usage)
                return
        yield TurnEnded("max_steps", turn.usage)

    def preview(self, agent: AgentView, model: str, rows: Sequence[Message], inputs: Sequence[InputMessage]) -> LLMRequest:
        """The request the next step would send (`preview-raw-payload`)."""
        system_row = rows[0] if rows and rows[0].role == "system" else None
        turn = _Turn(agent, Memory.of(agent.blocks), list(rows), system_row, None)
        pending = [self._row(agent.id, None, None, role=m.role, content=m.content) for m in inputs]
        return self._request(turn, model, pending)

    # -- one step ---------------------------------------------------------------------------------------------

    def _request(self, turn: _Turn, model: str, pending: Sequence[Message]) -> LLMRequest:
        agent = turn.agent
        now = self._clock()
        prompt = self._system_prompt(turn, now)
        messages = context.chat_messages(prompt, [*turn.rows, *pending], time=context.letta_time(now, agent.timezone))
        tools = llm_tools(
            [tool.offered for tool in agent.tools.values()],
            thoughts_key=agent.thoughts_key,
            heartbeats=agent.heartbeats,
            strict=agent.strict,
        )
        return LLMRequest(
            model=model,
            messages=messages,
            tools=tools,
            tool_choice=("required" if agent.heartbeats else "auto") if tools else None,
            parallel_tool_calls=agent.parallel_tool_calls if tools else None,
            temperature=agent.llm_config.get("temperature"),
            max_tokens=agent.llm_config.get("max_tokens"),
        )

    def _system_prompt(self, turn: _Turn, now: datetime) -> str:
        previous = sum(1 for row in turn.rows if row.role != "system")
        return render_system_prompt(
            turn.agent.system, list(turn.memory.blocks.values()), now=now, previous_messages=previous
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

    def _return_row(self, turn: _Turn, step_id: str, result: _ToolResult) -> Message:
        now = self._clock()
        wrapped = context.tool_result_text(
            success=result.status == "success", message=result.text, time=context.letta_time(now, turn.agent.timezone)
        )
        item = {
            "tool_call_id": result.call.id,
            "status": result.status,
            "tool_return": result.text,
            "stdout": [result.stdout] if result.stdout else [],
            "stderr": [result.stderr] if result.stderr else [],
        }
        return self._row(
            turn.agent.id, turn.run_id, step_id, role="tool", name=result.call.name, content=wrapped,
            tool_call_id=result.call.id, tool_returns=[item], is_err=result.status == "error", created_at=now,
        )

    def _continues(self, agent: AgentView, results: Sequence[_ToolResult]) -> tuple[bool, str | None]:
        """Whether the loop takes another step, and (heartbeat loops) the heartbeat's reason."""
        names = {result.call.name for result in results}
        if names & (agent.rule_tools("exit_loop") | {ASSISTANT_TOOL}):
            return False, None
        if not agent.heartbeats:
            return True, None
        result = results[0]
        if result.status == "error":
            return True, FAILED_REASON
        if result.call.name in agent.rule_tools("continue_loop"):
            return True, f"{result.call.name} requires continuing your response when called"
        if result.heartbeat:
            return True, HEARTBEAT_REASON
        return False, None

    # -- tools ------------------------------------------------------------------------------------------------

    async def _call_tool(self, actor: Actor, turn: _Turn, call: ToolCallRequest) -> _ToolResult:
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
        if tool.spec.tool_type.startswith("letta_"):
            result = await self._call_base_tool(actor, turn, call, args)
        else:
            result = await self._call_through_door(actor, turn, tool, call, args)
        result.heartbeat = heartbeat
        return result

    async def _call_through_door(
        self, actor: Actor, turn: _Turn, tool: AgentTool, call: ToolCallRequest, args: Mapping[str, Any]
    ) -> _ToolResult:
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
        return _ToolResult(call=call, status=outcome.status, text=outcome.text, stdout=outcome.stdout,
                           stderr=outcome.stderr)

    async def _call_base_tool(
        self, actor: Actor, turn: _Turn, call: ToolCallRequest, args: dict[str, Any]
    ) -> _ToolResult:
        name = call.name
        try:
            if name == ASSISTANT_TOOL:
                return _ToolResult(call=call, status="success", text=SENT)
            if name == "conversation_search":
                return _ToolResult(call=call, status="success", text=await self._search(actor, turn, **args))
            function = MEMORY_TOOLS.get(name)
            if function is None:
                return _error(call, "NotImplementedError", f"{name} is not available on this server")
            returned = function(turn.memory, **args)
        except (TypeError, ValueError) as exc:
            return _error(call, type(exc).__name__, str(exc))
        return _ToolResult(call=call, status="success", text="None" if returned is None else str(returned))

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
    ) -> None:
        """One transaction: the rows, the step (new, or its tool time), and the memory edits made so far."""
        async with self._db.session() as session:
            if step is not None:
                await StepRepository(session, actor).add(step)
            elif step_id is not None:
                stored = await session.get(Step, step_id)
                if stored is not None:
                    stored.tools_ms = tools_ms
            await MessageRepository(session, actor).add_all(rows)
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


def _error(call: ToolCallRequest, kind: str, message: str) -> _ToolResult:
    return _ToolResult(call=call, status="error", text=f"Error executing function {call.name}: {kind}: {message}")
